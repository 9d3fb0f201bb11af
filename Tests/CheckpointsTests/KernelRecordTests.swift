import Checkpoints
import ErrorAssertions
import Kernels
import XCTest

/// `state.safetensors` records the kernels that computed it (`kernels_openblas`, `kernels_bf16`):
/// they read back as written, a state without them reads as "unknown" (nil), and names a refusal
/// would quote are checked like every other field of a file that may come from anyone.
final class KernelRecordTests: XCTestCase {
    func state(metadata extra: [String: String]) -> [UInt8] {
        var metadata = ["format": "rnntrain-state", "step": "3", "optimizer_updates": "3", "skipped_steps": "0", "tokens": "96"]
        metadata.merge(extra) { $1 }
        return SafeTensors.encode([], metadata: metadata)
    }

    func testKernelsReadBackAsWritten() throws {
        for kernels in [ComputeKernels(openBLAS: "SkylakeX", bf16: nil),
                        ComputeKernels(openBLAS: "SkylakeX", bf16: "oneDNN avx512_core_bf16")] {
            var s = TrainingState()
            s.kernels = kernels
            XCTAssertEqual(try TrainingState.decode(s.encode(), source: "state").kernels, kernels)
        }
    }

    func testAStateWithoutKernelsReadsAsUnknown() throws {
        XCTAssertNil(try TrainingState.decode(state(metadata: [:]), source: "state").kernels)
    }

    func testBadKernelNamesAreRefusedNamingTheKey() {
        for (key, value) in [("kernels_openblas", ""), ("kernels_openblas", "Sky\nlakeX"), ("kernels_openblas", String(repeating: "a", count: 65)),
                             ("kernels_openblas", "Skylake\u{1b}[2J")] {
            assertUserError(try TrainingState.decode(state(metadata: [key: value]), source: "ck/state"),
                            mentions: ["ck/state", key, "not a kernel name"])
        }
        assertUserError(try TrainingState.decode(state(metadata: ["kernels_bf16": "emulated"]), source: "ck/state"),
                        mentions: ["ck/state", "kernels_bf16 without kernels_openblas"])
    }

    /// Another OpenBLAS family or another bf16 engine may change the bits; a change of precision
    /// (fp32 ↔ bf16, allowed on resume) is the user's, not the kernels'.
    func testWhichDifferencesCount() {
        let fp32 = ComputeKernels(openBLAS: "SkylakeX", bf16: nil)
        let native = ComputeKernels(openBLAS: "SkylakeX", bf16: "oneDNN avx512_core_bf16")
        let emulated = ComputeKernels(openBLAS: "SkylakeX", bf16: "emulated")
        XCTAssertTrue(fp32.mayDiffer(from: ComputeKernels(openBLAS: "Prescott", bf16: nil)))
        XCTAssertTrue(native.mayDiffer(from: emulated))
        XCTAssertFalse(native.mayDiffer(from: native))
        XCTAssertFalse(fp32.mayDiffer(from: native))
        XCTAssertFalse(emulated.mayDiffer(from: fp32))
    }
}
