import Foundation
import Kernels

/// OpenBLAS reads its environment only when it loads, so what rnntrain needs of it is decided
/// here, in the program, and not in a launch script: the bare binary, `mpirun`, `srun` and
/// `sbatch` then run the same way on the same machine. When a variable must change, it is set and
/// the program started again with the same arguments, once (the second start finds it set).
///
/// - `OPENBLAS_NUM_THREADS=1` when unset or empty: a rank computes on one core, ranks being the
///   parallelism. OpenBLAS's default, a thread per core in every rank, oversubscribes a node
///   P-fold under `mpirun`, and each idle thread spins in `sched_yield` for about 0.1 s at every
///   start (13 % of a 1-rank `prepare`'s samples). torchrun sets `OMP_NUM_THREADS=1` for the same
///   reason. A value you set is kept.
/// - `OPENBLAS_CORETYPE=SkylakeX` when unset and OpenBLAS took kernels without AVX-512 on a CPU
///   with the subsets SkylakeX's kernels use: Debian 12's OpenBLAS 0.3.21 does not know recent
///   Xeons (Sapphire and Emerald Rapids) and falls back there to its generic Prescott (SSE3)
///   kernels, and lstm-2x256 trained at 3,212 tokens/s instead of 12,000–16,000 with the AVX-512
///   ones. The kernels also decide the bits deterministic mode promises.
enum OpenBLASEnvironment {
    /// OpenBLAS 0.3.21's families with AVX-512 kernels (what it picks itself on CPUs it knows).
    static let avx512Families: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// Sets what is missing and starts the program again; call it before anything else.
    static func apply() {
        var missing: [String] = []
        // Empty counts as unset, as OpenBLAS reads it (`mpirun -x NAME` of an unset variable).
        if getenv("OPENBLAS_NUM_THREADS").map({ $0.pointee == 0 }) ?? true {
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
            missing.append("OPENBLAS_NUM_THREADS=1")
        }
        if getenv("OPENBLAS_CORETYPE") == nil, cpuRunsSkylakeXKernels, !avx512Families.contains(openBLASCoreName) {
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
            missing.append("OPENBLAS_CORETYPE=SkylakeX")
        }
        guard !missing.isEmpty else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        warn("warning: could not restart with \(missing.joined(separator: " ")) (/proc/self/exe: \(reason)); computing with OpenBLAS's \(openBLASThreads) threads and \(openBLASCoreName) kernels")
    }
}
