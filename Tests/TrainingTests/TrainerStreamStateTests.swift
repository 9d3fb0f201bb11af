import Foundation
import Kernels
import Training
import TrainingSupport
import XCTest

/// Stream mode carries each stream's hidden state from step to step (truncated BPTT), and starts
/// every epoch from zero.
final class TrainerStreamStateTests: XCTestCase {
    /// Mean loss of step `step`'s global batch from `initialState` (nil: zero).
    private func meanLoss(_ t: Trainer, step: Int, from initialState: Buffer<Float>?) throws -> Double {
        let sum = try t.model.evaluate(try TrainingTestFixtures.globalBatch(t, step: step), initialState: initialState)
        return sum.loss / Double(sum.count)
    }

    func testFinalStateOfAStepIsTheInitialStateOfTheNext() throws {
        // 61 characters: L = ⌊60/4⌋ = 15 inputs per stream, 2 chunks of τ = 6 per epoch.
        let text = String(TrainingTestFixtures.text.prefix(61))
        let t = try TrainingTestFixtures.trainer(self, text: text, ["data.mode=stream"])
        XCTAssertEqual(t.source.stepsPerEpoch, 2)

        _ = try t.trainStep()
        let afterFirst = Buffer<Float>(t.model.finalState.array)
        XCTAssertEqual(afterFirst.count, 4 * t.model.stateLayout.width)
        XCTAssertTrue(afterFirst.array.contains { $0 != 0 })
        let carried = try meanLoss(t, step: 1, from: afterFirst)
        let fresh = try meanLoss(t, step: 1, from: nil)
        XCTAssertGreaterThan(abs(carried - fresh), 1e-4 * carried, "the state must matter for this test to tell")
        let second = try t.trainStep()
        XCTAssertEqual(second.loss, carried, accuracy: 1e-6 * carried, "step 2 starts from step 1's final state")

        // Step 3 is chunk 0 of epoch 1: every stream starts again from zero.
        let afterSecond = Buffer<Float>(t.model.finalState.array)
        let restart = try meanLoss(t, step: 2, from: nil)
        let continued = try meanLoss(t, step: 2, from: afterSecond)
        XCTAssertGreaterThan(abs(restart - continued), 1e-4 * restart)
        let third = try t.trainStep()
        XCTAssertEqual(third.loss, restart, accuracy: 1e-6 * restart, "a new epoch starts from zero state")
    }

    /// With two micro-batches each carries its own streams: step 2 of accumulate 2 reports the
    /// loss of the whole batch from the whole batch's step-1 final state.
    func testMicroBatchesCarryTheirOwnStreams() throws {
        let one = try TrainingTestFixtures.trainer(self, ["data.mode=stream", "train.accumulate=1"])
        let two = try TrainingTestFixtures.trainer(self, ["data.mode=stream", "train.accumulate=2"])
        _ = try one.trainStep()
        _ = try two.trainStep()
        let state = Buffer<Float>(one.model.finalState.array)
        let expected = try meanLoss(two, step: 1, from: state)
        let report = try two.trainStep()
        XCTAssertEqual(report.loss, expected, accuracy: 1e-5 * expected)
    }
}
