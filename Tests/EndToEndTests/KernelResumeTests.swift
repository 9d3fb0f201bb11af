import Foundation
import XCTest

/// A checkpoint records the library kernels that computed it (`kernels_openblas`, `kernels_bf16`
/// in state.safetensors). A deterministic run promises the bits of an uninterrupted run, which
/// other kernels cannot give: its resume on other kernels (OPENBLAS_CORETYPE, DNNL_MAX_CPU_ISA)
/// is refused with one line and nothing written; outside deterministic mode it is a warning.
final class KernelResumeTests: MultiRankTestCase {
    /// Trains 10 steps with `first` added to the environment, then resumes `--resume auto` to step
    /// 20 with `second`. Returns every file of the run directory but its lock before the resume,
    /// the resume's result and the run directory.
    func trainThenResume(_ settings: [String], first: [String: String], second: [String: String])
        throws -> (before: [String: Data], result: MultiRankResult, run: URL) {
        let config = try writeConfig(extra: ["train": ["steps: 10"]])
        let run = scratch.appendingPathComponent("run")
        let args = ["train", "--config", config.path, "--run-dir", run.path] + settings.flatMap { ["--set", $0] }
        let started = finish(try start(Tool.binary, args, plain: true, environment: first))
        XCTAssertEqual(started.status, 0, started.output)
        let before = files(run)
        let r = finish(try start(Tool.binary, args + ["--set", "train.steps=20", "--resume", "auto"], plain: true,
                                 environment: second))
        return (before, r, run)
    }

    /// Every file under `run` but `run.lock` (which each start rewrites), with its bytes.
    func files(_ run: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let walker = FileManager.default.enumerator(at: run, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            if url.lastPathComponent != "run.lock", let data = FileManager.default.contents(atPath: url.path) {
                files[url.path] = data
            }
        }
        return files
    }

    func assertRefused(_ settings: [String], first: [String: String], second: [String: String], naming parts: [String]) throws {
        let (before, r, run) = try trainThenResume(settings, first: first, second: second)
        XCTAssertEqual(r.status, 2, r.output)
        // Beside the error, only the note an emulating bf16 run prints at every start.
        let errors = lines(r.stderr).filter { !$0.hasPrefix("rnntrain: bf16: this CPU has no AVX512_BF16") }
        XCTAssertEqual(errors.count, 1, "expected one line:\n\(r.stderr)")
        for part in parts + ["step-00000010", "train.deterministic"] {
            XCTAssertTrue(errors.first?.contains(part) ?? false, "the line does not name \(part): \(errors)")
        }
        XCTAssertFalse(before.isEmpty)
        XCTAssertEqual(files(run), before, "the refused resume wrote into the run directory")
    }

    func testDeterministicResumeOnOtherOpenBLASKernelsIsRefused() throws {
        try assertRefused(["train.deterministic=true"], first: ["OPENBLAS_CORETYPE": "SkylakeX"],
                          second: ["OPENBLAS_CORETYPE": "Prescott"], naming: ["OpenBLAS SkylakeX", "OpenBLAS Prescott"])
    }

    func testDeterministicBF16ResumeOnTheEmulatedEngineIsRefused() throws {
        try assertRefused(["train.deterministic=true", "train.precision=bf16"], first: [:],
                          second: ["DNNL_MAX_CPU_ISA": "AVX512_CORE"], naming: ["bf16 oneDNN avx512_core_bf16", "bf16 emulated"])
    }

    func testResumeOnOtherKernelsOutsideDeterministicModeWarnsAndRecordsTheNewOnes() throws {
        let (_, r, run) = try trainThenResume([], first: ["OPENBLAS_CORETYPE": "SkylakeX"],
                                              second: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(r.status, 0, r.output)
        let warnings = lines(r.stderr).filter { $0.hasPrefix("rnntrain: warning: ") }
        XCTAssertEqual(warnings.count, 1, r.stderr)
        XCTAssertTrue(warnings.first.map { $0.contains("OpenBLAS SkylakeX") && $0.contains("OpenBLAS Prescott") } ?? false,
                      "\(warnings)")
        let state = try SafetensorsFile(url: checkpoint(run, step: 20).appendingPathComponent("state.safetensors"))
        XCTAssertEqual(state.metadata["kernels_openblas"], "Prescott")
        XCTAssertNil(state.metadata["kernels_bf16"], "an fp32 run records no bf16 engine")
    }
}
