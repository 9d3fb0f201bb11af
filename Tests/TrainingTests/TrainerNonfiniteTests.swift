import ErrorAssertions
import Files
import Foundation
import Training
import TrainingSupport
import XCTest

/// A step whose gradient norm is not finite: `clip.nonfinite: skip` drops the update (parameters
/// and optimizer state untouched, the step still counts), `abort` throws.
final class TrainerNonfiniteTests: XCTestCase {
    private let adam = ["optimizer.type=adam", "optimizer.lr=0.01", "clip.max_norm=1"]

    /// decoder.weight comes first in storage (see ParameterLayout), so element 0 feeds every
    /// logit row: a NaN there makes the loss and the gradient NaN without touching the carried
    /// hidden states.
    private let poisoned = 0

    func testSkipLeavesParametersAndMomentsAndCountsTheStep() throws {
        for mode in ["stream", "windows"] {
            let t = try TrainingTestFixtures.trainer(self, adam + ["data.mode=\(mode)", "clip.nonfinite=skip"])
            let first = try t.trainStep()
            XCTAssertFalse(first.skipped, mode)
            let saved = t.model.parameters[poisoned]
            t.model.parameters[poisoned] = .nan
            let parameters = TrainingTestFixtures.bits(t.model.parameters)
            let m = t.optimizer.first.array, v = t.optimizer.second.array, updates = t.optimizer.updates
            XCTAssertTrue(m.contains { $0 != 0 }, "\(mode): the first step filled the moments")

            let report = try t.trainStep()
            XCTAssertTrue(report.skipped, mode)
            XCTAssertFalse(report.gradientNorm.isFinite, mode)
            XCTAssertEqual(TrainingTestFixtures.bits(t.model.parameters), parameters, "\(mode): parameters changed")
            XCTAssertEqual(t.optimizer.first.array.map(\.bitPattern), m.map(\.bitPattern), "\(mode): first moment changed")
            XCTAssertEqual(t.optimizer.second.array.map(\.bitPattern), v.map(\.bitPattern), "\(mode): second moment changed")
            XCTAssertEqual(t.optimizer.updates, updates, mode)
            XCTAssertEqual(t.state.skippedSteps, 1, mode)
            XCTAssertEqual(t.step, 2, mode)

            // Once the cause is gone the run goes on: the next step updates again.
            t.model.parameters[poisoned] = saved
            let before = t.model.parameters.array
            let next = try t.trainStep()
            XCTAssertFalse(next.skipped, mode)
            XCTAssertTrue(next.loss.isFinite && next.gradientNorm.isFinite, mode)
            XCTAssertNotEqual(t.model.parameters.array, before, mode)
            XCTAssertEqual(t.optimizer.updates, updates + 1, mode)
            XCTAssertEqual(t.state.skippedSteps, 1, mode)
            XCTAssertEqual(t.step, 3, mode)
        }
    }

    func testAbortThrowsAUserError() throws {
        let t = try TrainingTestFixtures.trainer(self, adam + ["clip.nonfinite=abort"])
        t.model.parameters[poisoned] = .nan
        let parameters = TrainingTestFixtures.bits(t.model.parameters)
        let message = thrownMessage { _ = try t.trainStep() }
        XCTAssertTrue(message.contains("abort"), message)
        XCTAssertEqual(TrainingTestFixtures.bits(t.model.parameters), parameters, "parameters changed")
        XCTAssertEqual(t.optimizer.updates, 0)
    }

    /// The same poisoning with nonfinite skip must be what makes the step skip: with a finite
    /// model the same config does not skip (so the tests above are not vacuous).
    func testFiniteStepIsNotSkipped() throws {
        let t = try TrainingTestFixtures.trainer(self, adam + ["clip.nonfinite=abort"])
        let report = try t.trainStep()
        XCTAssertFalse(report.skipped)
        XCTAssertTrue(report.gradientNorm.isFinite && report.gradientNorm > 0)
        XCTAssertEqual(t.optimizer.updates, 1)
    }
}

/// A finite gradient whose update overflows (issue 11: SGD at a huge learning rate without
/// clipping): the step is refused before any weight changes, as a non-finite gradient is, so no
/// weight or moment ever becomes infinite or NaN and a checkpoint can always be written.
///
/// The overflow is built so the forward stays finite: the embedding row of a token that the first
/// batch never reads gets no gradient and is never used, so set to 3·10³⁸ it changes no loss, but
/// SGD's weight decay at lr 3, decay 1 makes it 3·10³⁸ − 3·(0 + 3·10³⁸) = −6·10³⁸, past Float's
/// range, while the gradient norm stays finite.
final class TrainerOverflowTests: XCTestCase {
    private let explosive = ["optimizer.type=sgd", "optimizer.lr=3", "optimizer.weight_decay=1", "clip.max_norm=0"]

    /// A trainer whose first update overflows exactly the embedding row it returns the range of.
    private func poisonedTrainer(_ policy: String) throws -> (Trainer, Range<Int>) {
        let t = try TrainingTestFixtures.trainer(self, explosive + ["clip.nonfinite=\(policy)", "data.mode=stream"])
        let embedding = t.model.layout["encoder.weight"]
        XCTAssertNil(t.model.layout["decoder.weight"].aliasOf, "a tied embedding would get the decoder's gradient")
        let used = Set(try TrainingTestFixtures.globalBatch(t, step: 0).inputs)
        let width = embedding.shape[1]
        guard let unused = (0..<Int32(embedding.shape[0])).first(where: { !used.contains($0) }) else {
            XCTFail("the first batch reads every token: no row to poison")
            return (t, 0..<0)
        }
        let row = (embedding.offset + Int(unused) * width)..<(embedding.offset + Int(unused + 1) * width)
        for i in row { t.model.parameters[i] = 3e38 }
        return (t, row)
    }

    func testAnOverflowingUpdateIsSkippedAndWeightsStayFinite() throws {
        let (t, row) = try poisonedTrainer("skip")
        let before = TrainingTestFixtures.bits(t.model.parameters)
        let report = try t.trainStep()
        XCTAssertTrue(report.skipped)
        XCTAssertTrue(report.loss.isFinite && report.gradientNorm.isFinite, "the overflow must come from the update")
        XCTAssertEqual(TrainingTestFixtures.bits(t.model.parameters), before, "the skipped step changed weights")
        XCTAssertEqual(t.state.skippedSteps, 1)
        XCTAssertEqual(t.optimizer.updates, 0)
        // Without the poisoned row the same step updates: the skip was the overflow's doing.
        for i in row { t.model.parameters[i] = 0 }
        XCTAssertFalse(try t.trainStep().skipped)
        XCTAssertTrue(t.model.parameters.array.allSatisfy(\.isFinite))
        XCTAssertNoThrow(try t.snapshot(elapsed: 0))
    }

    func testAnOverflowingUpdateAbortsWhenToldTo() throws {
        let (t, row) = try poisonedTrainer("abort")
        let before = TrainingTestFixtures.bits(t.model.parameters)
        let message = thrownMessage { _ = try t.trainStep() }
        XCTAssertTrue(message.contains("would make \(row.count) weights or optimizer moments infinite or NaN")
                      && message.contains("clip.nonfinite is abort"), message)
        XCTAssertEqual(TrainingTestFixtures.bits(t.model.parameters), before)
    }

    /// A non-finite weight put there from outside (a hand-made checkpoint, a bit flip) is refused
    /// by the checkpoint writer, not saved.
    func testSnapshotRefusesANonfiniteWeight() throws {
        let t = try TrainingTestFixtures.trainer(self, ["optimizer.type=adam"])
        _ = try t.trainStep()
        t.model.parameters[3] = .infinity
        let message = thrownMessage { _ = try t.snapshot(elapsed: 0) }
        XCTAssertTrue(message.contains("1 weights are infinite or NaN") && message.contains("no checkpoint"), message)
    }
}
