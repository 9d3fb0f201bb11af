import Foundation
import TestSupport
import Training
import TrainingSupport
import XCTest

/// `train.accumulate` splits each step's global batch into micro-batches without changing the
/// step: the summed gradient over the micro-batches, divided by the global token count, is the
/// one of the whole batch, so the parameters follow the same path.
final class TrainerAccumulationTests: XCTestCase {
    /// Three steps with accumulate 1 and with accumulate 2 (micro-batches of 2 of the 4 sequences).
    ///
    /// Tolerance: the two runs differ only in the order Float sums are taken (weight gradients
    /// summed over 4 rows at once, or 2 + 2), a few ulps of 2^-24 ≈ 6e-8 relative per sum; with
    /// lr 0.5 and parameters of order 1, three steps of such differences stay below 1e-6, so
    /// 1e-5 relative plus 1e-6 absolute is a safe bound and far below one step's change (~1e-2).
    private func assertSameTrajectory(_ overrides: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let one = try TrainingTestFixtures.trainer(self, overrides + ["train.accumulate=1"])
        let two = try TrainingTestFixtures.trainer(self, overrides + ["train.accumulate=2"])
        let initial = one.model.parameters.array
        XCTAssertEqual(initial, two.model.parameters.array, "same seed, same initial parameters", file: file, line: line)
        for step in 0..<3 {
            let a = try one.trainStep(), b = try two.trainStep()
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * a.loss, "loss of step \(step + 1)", file: file, line: line)
            XCTAssertEqual(a.gradientNorm, b.gradientNorm, accuracy: 1e-5 * a.gradientNorm, "norm of step \(step + 1)",
                           file: file, line: line)
        }
        let after = one.model.parameters.array
        assertClose(two.model.parameters.array, after.map(Double.init), relative: 1e-5, absolute: 1e-6,
                    "parameters after 3 steps", file: file, line: line)
        // The comparison is not vacuous: training moved the parameters well beyond the tolerance.
        let moved = zip(initial, after).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(moved, 1e-3, file: file, line: line)
    }

    /// Stream mode: each micro-batch carries its own streams' states from step to step.
    func testStreamModeAccumulationMatchesOneBatch() throws {
        try assertSameTrajectory(["data.mode=stream"])
    }

    func testWindowsModeAccumulationMatchesOneBatch() throws {
        try assertSameTrajectory(["data.mode=windows"])
    }

    /// Dropout masks are keyed by the global sequence index, never by the micro-batch, so
    /// accumulation keeps the same trajectory with dropout on.
    func testStreamModeAccumulationWithDropoutMatchesOneBatch() throws {
        try assertSameTrajectory(["data.mode=stream", "model.layers=2", "model.dropout=0.3"])
    }

    /// The MLP in stream mode reads k − 1 tokens of history per stream, whichever micro-batch holds it.
    func testMLPStreamModeAccumulationMatchesOneBatch() throws {
        try assertSameTrajectory(["data.mode=stream", "model.cell=mlp", "model.context=3"])
    }
}
