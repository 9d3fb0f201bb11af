import Foundation
import XCTest

/// Ranks that compute with other library kernels sum their products in other orders. One rank on
/// oneDNN's native bf16 engine and one on the emulation (`DNNL_MAX_CPU_ISA=AVX512_CORE`) gave
/// other weights than either alone, status 0, no message: deterministic mode must refuse such a
/// job at start with one line naming both engines, and any other mode train with a warning.
final class MultiRankKernelTests: MultiRankTestCase {
    /// `mpirun -np 1 rnntrain ARGS : -np 1 -x DNNL_MAX_CPU_ISA=AVX512_CORE rnntrain ARGS`: rank 0
    /// native, rank 1 emulated. Fails (never skips) on a CPU without AVX512_BF16, where both
    /// ranks would emulate and the test would prove nothing.
    func runMixedEngines(deterministic: Bool, runDir: URL) throws -> MultiRankResult {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        XCTAssertTrue(flags.split(separator: " ").contains("avx512_bf16"),
                      "this CPU has no AVX512_BF16: no native bf16 engine to mix with the emulated one")
        let config = try writeConfig(extra: ["train": ["precision: bf16", "deterministic: \(deterministic)", "steps: 10"]])
        let args = [Tool.binary.path, "train", "--config", config.path, "--run-dir", runDir.path]
        let options = ["-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"]
        return finish(try start(Self.mpirun, ["-np", "1"] + options + args
                                    + [":", "-np", "1"] + options + ["-x", "DNNL_MAX_CPU_ISA=AVX512_CORE"] + args))
    }

    /// rnntrain's own lines on stderr (mpirun adds its banner about the non-zero exit).
    func ownLines(_ r: MultiRankResult) -> [String] { lines(r.stderr).filter { $0.hasPrefix("rnntrain: ") } }

    func testMixedBF16EnginesAreRefusedInDeterministicMode() throws {
        let run = scratch.appendingPathComponent("run")
        let r = try runMixedEngines(deterministic: true, runDir: run)
        XCTAssertEqual(r.status, 2, r.output)
        let own = ownLines(r)
        XCTAssertEqual(own.count, 1, "expected one line:\n\(r.stderr)")
        for part in ["rank 1", "bf16 emulated", "bf16 oneDNN avx512_core_bf16", "train.deterministic"] {
            XCTAssertTrue(own.first?.contains(part) ?? false, "the line does not name \(part): \(own)")
        }
        assertNothingWritten(run, "a refused mixed-engine job")
    }

    func testMixedBF16EnginesOutsideDeterministicModeTrainWithAWarning() throws {
        let run = scratch.appendingPathComponent("run")
        let r = try runMixedEngines(deterministic: false, runDir: run)
        XCTAssertEqual(r.status, 0, r.output)
        let warnings = ownLines(r).filter { $0.contains("warning") }
        XCTAssertEqual(warnings.count, 1, "expected one warning:\n\(r.stderr)")
        for part in ["rank 1", "bf16 emulated", "bf16 oneDNN avx512_core_bf16"] {
            XCTAssertTrue(warnings.first?.contains(part) ?? false, "the warning does not name \(part): \(warnings)")
        }
        XCTAssertEqual(checkpoints(run).map(\.lastPathComponent), ["step-00000010"])
    }
}
