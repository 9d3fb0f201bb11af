import ModelSpec
import Models
import Kernels
import TestSupport
import XCTest

/// Dropout masks are keyed by (seed, step, global sequence, site, position), so a batch split into
/// parts (as over MPI ranks) trains exactly as the whole; another step draws other masks;
/// evaluation never drops.
final class ModelDropoutTests: XCTestCase {
    let key = DropoutKey(seed: 77, step: 5)

    /// A 2-layer bidirectional model of every registered cell uses all three sites (embedding,
    /// between layers, before the decoder) with widths E and 2h; the MLP its two, with its
    /// history split alongside.
    private var configs: [(String, ModelConfig)] {
        CellRegistry.forms.map { form in
            ("\(form) 2 layers bidirectional", makeConfig(form, layers: 2, bidirectional: true, vocabulary: 6,
                                                           embedding: 4, hidden: 3, dropout: 0.5))
        } + [("mlp", makeMLPConfig(vocabulary: 6, dropout: 0.5))]
    }

    func testFourSequencesEqualTwoBatchesOfTwoDouble() throws {
        // Double: only the order of the sums over sequences differs, ~1e-16 relative.
        try checkSplit(Double.self, lossTolerance: 1e-13, gradientTolerance: 1e-13)
    }

    func testFourSequencesEqualTwoBatchesOfTwoFloat() throws {
        // Float: the same sums in another order, ~8 terms of 2^-24 relative each.
        try checkSplit(Float.self, lossTolerance: 1e-6, gradientTolerance: 1e-5)
    }

    private func checkSplit<T: Scalar>(_: T.Type, lossTolerance: Double, gradientTolerance: Double) throws {
        for (label, config) in configs {
            let whole = try Model<T>(config: config, seed: 3), parts = try Model<T>(config: config, seed: 3)
            var fixture = Fixture(seed: 4)
            let batch = fixture.batch(config, steps: 3, sequences: 4, history: config.isWindowedMLP)
            let width = whole.stateLayout.width
            let state = fixture.values(4 * width)
            let contextRows = config.isWindowedMLP ? config.context - 1 : 0

            let all = try whole.train(batch, initialState: Buffer(doubles: state), dropout: key)
            var sum = LossSum()
            for first in [0, 2] {
                sum += try parts.train(slice(batch, sequences: first, count: 2, contextRows: contextRows),
                                       initialState: Buffer(doubles: stateRows(state, width: width, first: first, count: 2)),
                                       dropout: key)
            }
            assertClose(sum.loss, all.loss, relative: lossTolerance, "\(T.self) \(label) loss")
            XCTAssertEqual(sum.count, all.count)
            let g = whole.gradients.doubles
            assertClose(parts.gradients.doubles, g, absolute: gradientTolerance * g.map(abs).max()!,
                        "\(T.self) \(label) gradients")

            // The masks did something, and depend on the step.
            let plain = try whole.evaluate(batch, initialState: Buffer(doubles: state))
            XCTAssertGreaterThan(abs(plain.loss - all.loss), 1e-3, "\(T.self) \(label): dropout had no effect")
            let nextStep = try whole.train(batch, initialState: Buffer(doubles: state),
                                           dropout: DropoutKey(seed: key.seed, step: key.step + 1))
            XCTAssertGreaterThan(abs(nextStep.loss - all.loss), 1e-3, "\(T.self) \(label): step does not change the masks")
            let again = try whole.train(batch, initialState: Buffer(doubles: state), dropout: key)
            XCTAssertEqual(again.loss, all.loss, "\(T.self) \(label): the same key must give the same masks")
        }
    }

    /// Evaluation of a model with dropout 0.5 equals that of the same parameters with dropout 0,
    /// also right after a training step with dropout (no mask left behind).
    func testEvaluateIgnoresDropout() throws {
        for (label, config) in configs {
            var off = config
            off.dropout = 0
            let withDropout = try Model<Double>(config: config, seed: 9), without = try Model<Double>(config: off, seed: 9)
            var fixture = Fixture(seed: 10)
            let batch = fixture.batch(config, steps: 3, sequences: 2, history: config.isWindowedMLP)
            let expected = try without.evaluate(batch).loss
            XCTAssertEqual(try withDropout.evaluate(batch).loss, expected, "\(label) before training")
            _ = try withDropout.train(batch, dropout: key)
            XCTAssertEqual(try withDropout.evaluate(batch).loss, expected, "\(label) after a dropout step")
            // Training without a key does not drop either.
            withDropout.zeroGradients()
            without.zeroGradients()
            XCTAssertEqual(try withDropout.train(batch).loss, expected, "\(label) train without a key")
        }
    }
}
