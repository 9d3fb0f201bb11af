import Foundation
import Kernels
import TestSupport
import Training
import TrainingSupport
import XCTest

/// Clipping by the global norm: g ← min(1, θ/‖g‖)·g, ‖g‖ over all parameters of the mean
/// gradient (summed gradient / global token count).
final class TrainerClippingTests: XCTestCase {
    /// ‖∇ mean loss‖ of step 0, computed outside the Trainer: one forward/backward of the whole
    /// global batch, summed gradient / scored count, norm in Double.
    private func meanGradientNorm(_ overrides: [String]) throws -> Double {
        let t = try TrainingTestFixtures.trainer(self, overrides)
        let batch = try TrainingTestFixtures.globalBatch(t, step: 0)
        t.model.zeroGradients()
        let sum = try t.model.train(batch)
        let squares = t.model.gradients.array.reduce(0.0) { $0 + Double($1) * Double($1) }
        return squares.squareRoot() / Double(sum.count)
    }

    func testTinyMaxNormClipsAndTheUpdateIsTheClippedGradient() throws {
        let lr = 0.5, maxNorm = 0.01
        let expectedNorm = try meanGradientNorm([])

        let clipped = try TrainingTestFixtures.trainer(self, ["clip.max_norm=\(maxNorm)"])
        let before = clipped.model.parameters.array
        let report = try clipped.trainStep()
        XCTAssertEqual(report.gradientNorm, expectedNorm, accuracy: 1e-5 * expectedNorm, "reported norm")
        XCTAssertGreaterThan(report.gradientNorm, maxNorm)
        XCTAssertTrue(report.clipped)
        XCTAssertFalse(report.skipped)
        let deltaClipped = zip(clipped.model.parameters.array, before).map { Double($0) - Double($1) }

        // SGD moves by lr·(clipped gradient), whose norm is max_norm: ‖Δθ‖ = lr·max_norm. Each
        // Float parameter rounds the change by ≤ 2^-24·|θ| ≈ 1e-7; over a few hundred parameters
        // that is ~1e-6 in the norm, below 1e-4 of lr·max_norm = 5e-3.
        let stepNorm = deltaClipped.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(stepNorm, lr * maxNorm, accuracy: 1e-3 * lr * maxNorm, "‖Δθ‖")

        // The same update as an unclipped SGD step at lr · max_norm / ‖g‖.
        let scaledLR = lr * maxNorm / report.gradientNorm
        let plain = try TrainingTestFixtures.trainer(self, ["clip.max_norm=0", "optimizer.lr=\(scaledLR)"])
        XCTAssertEqual(plain.model.parameters.array, before)
        let plainReport = try plain.trainStep()
        XCTAssertFalse(plainReport.clipped)
        let deltaPlain = zip(plain.model.parameters.array, before).map { Double($0) - Double($1) }
        let largest = deltaPlain.map(abs).max()!
        // Per element: two Float roundings of θ − Δ (≤ 1.2e-7 each for |θ| < 2) against a largest
        // change of ~1e-3: 1e-3 of the largest change bounds them.
        assertClose(deltaClipped.map(Float.init), deltaPlain, relative: 0, absolute: 1e-3 * largest, "Δθ clipped vs scaled lr")
    }

    func testNormBelowMaxNormIsNotClipped() throws {
        let lr = 0.5
        let t = try TrainingTestFixtures.trainer(self, ["clip.max_norm=1000"])
        let before = t.model.parameters.array
        let report = try t.trainStep()
        XCTAssertFalse(report.clipped)
        // An unclipped SGD step moves by lr·‖g‖.
        let step = zip(t.model.parameters.array, before).map { Double($0) - Double($1) }
            .reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(step, lr * report.gradientNorm, accuracy: 1e-3 * lr * report.gradientNorm)
    }
}
