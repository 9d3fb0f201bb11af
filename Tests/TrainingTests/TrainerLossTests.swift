import Foundation
import Training
import TrainingSupport
import XCTest

/// The loss a step reports is the mean cross-entropy over the scored tokens of the global batch
/// under the parameters before the update, here recomputed in Double from the model's logits.
final class TrainerLossTests: XCTestCase {
    /// Mean −log softmax(logits)[target] over the scored positions of step `step`'s global batch,
    /// from `model.evaluate` logits (no dropout: dropout is 0 in every config here).
    private func expectedLoss(_ t: Trainer, step: Int) throws -> (mean: Double, count: Int) {
        let batch = try TrainingTestFixtures.globalBatch(t, step: step)
        _ = try t.model.evaluate(batch)
        let (loss, count) = TrainingTestFixtures.crossEntropy(logits: t.model.logits, vocabulary: t.model.config.vocabulary,
                                                              targets: batch.targets, mask: batch.mask)
        return (loss / Double(count), count)
    }

    /// Float logits, the sum in Double: the two computations agree to a few Float ulps of the
    /// log-sum-exp, far below 1e-5 relative.
    private func assertReportedLossIsMeanCrossEntropy(_ overrides: [String], scored: Int,
                                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try TrainingTestFixtures.trainer(self, overrides)
        let expected = try expectedLoss(t, step: 0)
        XCTAssertEqual(expected.count, scored, "scored positions", file: file, line: line)
        let report = try t.trainStep()
        XCTAssertEqual(report.loss, expected.mean, accuracy: 1e-5 * expected.mean, file: file, line: line)
        // The next step reports the loss under the updated parameters (windows: no carried state).
        if !t.source.carriesState {
            let second = try expectedLoss(t, step: 1)
            let report2 = try t.trainStep()
            XCTAssertEqual(report2.loss, second.mean, accuracy: 1e-5 * second.mean, file: file, line: line)
        }
    }

    func testStreamModeLoss() throws {
        try assertReportedLossIsMeanCrossEntropy(["data.mode=stream"], scored: 4 * 6)
    }

    func testWindowsModeLossWithAccumulation() throws {
        try assertReportedLossIsMeanCrossEntropy(["data.mode=windows", "train.accumulate=2"], scored: 4 * 6)
    }

    /// Fill-in-the-middle: only masked positions are scored, so the mean is over them alone.
    func testFillInTheMiddleLossIsOverMaskedPositions() throws {
        let t = try TrainingTestFixtures.trainer(self, ["data.mode=windows", "data.task=fill-in-the-middle",
                                                        "data.mask_rate=0.3", "model.bidirectional=true"])
        let batch = try TrainingTestFixtures.globalBatch(t, step: 0)
        let masked = batch.mask!.reduce(0) { $0 + Int($1) }
        XCTAssertGreaterThan(masked, 0)
        XCTAssertLessThan(masked, 4 * 6)
        let expected = try expectedLoss(t, step: 0)
        XCTAssertEqual(expected.count, masked)
        // Scoring every position would give another mean.
        let all = TrainingTestFixtures.crossEntropy(logits: t.model.logits, vocabulary: t.model.config.vocabulary,
                                                    targets: batch.targets)
        XCTAssertGreaterThan(abs(all.loss / Double(all.count) - expected.mean), 1e-4)
        let report = try t.trainStep()
        XCTAssertEqual(report.loss, expected.mean, accuracy: 1e-5 * expected.mean)
    }
}
