import Foundation
import Training
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
