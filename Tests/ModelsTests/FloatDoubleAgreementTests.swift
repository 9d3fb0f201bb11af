import ModelSpec
import Models
import Kernels
import TestSupport
import XCTest

/// A Float model and a Double model with identical parameters (the Float ones, widened) give
/// the same loss and gradients up to Float rounding.
///
/// Tolerances: Float rounds at 2^-24 ≈ 6e-8 per operation and its exp/tanh/σ at ≤ 4e-7. The loss
/// is a sum of 16 terms each ~log V, reached through ≤ 4 steps × 2 layers of kernels and short
/// dot products (≤ 12 terms): ≲ 50 roundings on the path, ≲ 1e-5 relative. A gradient entry adds
/// up to τ·n = 8 such paths and backward doubles their length; it is compared on the scale of the
/// largest gradient (small entries are differences of larger terms, so their own relative error
/// means nothing): |g_F − g_D| ≤ 1e-4 · max|g_D|.
final class FloatDoubleAgreementTests: XCTestCase {
    private func compare(_ config: ModelConfig, history: Bool = false, _ label: String) throws {
        let float = try Model<Float>(config: config, seed: 21)
        let double = try Model<Double>(config: config, seed: 21)
        for i in 0..<float.parameters.count { double.parameters[i] = Double(float.parameters[i]) }
        var fixture = Fixture(seed: 22)
        let batch = fixture.batch(config, steps: 4, sequences: 4, masked: true, history: history)
        let state = fixture.values(4 * float.stateLayout.width).map { Double(Float($0)) }
        let lossF = try float.train(batch, initialState: Buffer(doubles: state))
        let lossD = try double.train(batch, initialState: Buffer(doubles: state))
        assertClose(lossF.loss, lossD.loss, relative: 1e-5, "\(label) loss")
        XCTAssertEqual(lossF.count, lossD.count, "\(label) count")
        let gD = double.gradients.doubles
        let scale = gD.map(abs).max()!
        XCTAssertGreaterThan(scale, 0, "\(label) has no gradient to compare")
        assertClose(float.gradients.doubles, gD, absolute: 1e-4 * scale, "\(label) gradients")
        assertClose(float.finalState.doubles, double.finalState.doubles, absolute: 1e-5, "\(label) final state")
    }

    func testRecurrentCells() throws {
        for cell in CellRegistry.forms {
            try compare(makeConfig(cell, layers: 2, bidirectional: cell == .lstm || cell == .gruLinearBeforeReset,
                                   vocabulary: 7, embedding: 4, hidden: 3), cell.name)
        }
    }

    func testMLP() throws {
        try compare(makeMLPConfig(vocabulary: 7), history: true, "mlp")
    }
}
