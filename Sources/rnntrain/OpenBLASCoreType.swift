import Foundation
import Kernels

/// OpenBLAS picks its kernel family when it loads, and Debian 12's OpenBLAS 0.3.21 does not know
/// recent Xeons (Sapphire and Emerald Rapids): it falls back there to its generic Prescott (SSE3)
/// kernels, and lstm-2x256 trained at 3,212 tokens/s instead of 12,000–16,000 with the AVX-512
/// ones. The kernels also decide the bits deterministic mode promises, so the choice is made
/// here, in the program, and not in a launch script: the bare binary, `mpirun`, `srun` and
/// `sbatch` then run the same kernels on the same machine.
enum OpenBLASCoreType {
    /// OpenBLAS 0.3.21's families with AVX-512 kernels (what it picks itself on CPUs it knows).
    static let avx512Families: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// When nobody set `OPENBLAS_CORETYPE` and OpenBLAS took kernels without AVX-512 on a CPU with
    /// the subsets SkylakeX's kernels use, sets `OPENBLAS_CORETYPE=SkylakeX` and runs this
    /// program again with the same arguments: OpenBLAS reads the variable only when it loads.
    /// Once at most: the second start finds the variable set. Call it before anything else.
    static func takeAVX512Kernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, cpuRunsSkylakeXKernels,
              !avx512Families.contains(openBLASCoreName) else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        warn("warning: could not restart with OPENBLAS_CORETYPE=SkylakeX (/proc/self/exe: \(reason)); computing with OpenBLAS's slower \(openBLASCoreName) kernels")
    }
}
