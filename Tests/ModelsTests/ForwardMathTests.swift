import ModelSpec
import Models
import Kernels
import TestSupport
import XCTest

/// `evaluate` and `finalState` against ReferenceLanguageModel on tiny models: loss, count,
/// correct and the carried state, with a non-zero initial state. Both sides are Double with
/// the same operations in another order, so they agree to ~1e-15 relative; 1e-12 allows for
/// that and nothing more.
final class ForwardMathTests: XCTestCase {
    let tolerance = 1e-12

    private func check(_ config: ModelConfig, steps: Int, sequences: Int = 2, masked: Bool = false,
                       history: Bool = false, seed: UInt64 = 3, _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Model<Double>(config: config, seed: seed)
        var fixture = Fixture(seed: seed &+ 100)
        let batch = fixture.batch(config, steps: steps, sequences: sequences, masked: masked, history: history)
        let state = fixture.values(sequences * model.stateLayout.width)
        let got = try model.evaluate(batch, initialState: Buffer(doubles: state))
        let expected = ReferenceLanguageModel(model).run(batch, initialState: state)
        assertClose(got.loss, expected.loss, relative: tolerance, "\(label) loss", file: file, line: line)
        XCTAssertEqual(got.count, expected.count, "\(label) count", file: file, line: line)
        XCTAssertEqual(got.correct, expected.correct, "\(label) correct", file: file, line: line)
        assertClose(model.finalState.doubles, expected.finalState, absolute: tolerance, relative: tolerance,
                    "\(label) final state", file: file, line: line)
    }

    /// One step uses only the input path and the initial state; two use the recurrence.
    func testOneLayerCellsOneAndTwoSteps() throws {
        for cell in CellRegistry.forms {
            for steps in [1, 2] {
                try check(makeConfig(cell), steps: steps, "\(cell.name) τ \(steps)")
            }
        }
    }

    func testDeepBidirectionalMasked() throws {
        for cell in CellRegistry.forms {
            try check(makeConfig(cell, layers: 2, bidirectional: true), steps: 3, masked: true,
                      "\(cell.name) 2 layers bidirectional masked")
        }
    }

    /// One sequence: the per-step products run as GEMV on W_hh as stored, not on its transposed copy.
    func testOneSequence() throws {
        for cell in CellRegistry.forms {
            try check(makeConfig(cell, layers: 2, bidirectional: true), steps: 3, sequences: 1,
                      "\(cell.name) 2 layers bidirectional, one sequence")
        }
    }

    /// The relu RNN's kink: large initial weights push many pre-activations below zero.
    func testReluRNNWithNegativePreActivations() throws {
        let config = makeConfig(.rnnRelu, hidden: 4)
        let model = try Model<Double>(config: config, seed: 8)
        for name in ["rnn.weight_ih_l0", "rnn.weight_hh_l0"] { model.setTensor(name, model.tensor(name).map { $0 * 4 }) }
        var fixture = Fixture(seed: 9)
        let batch = fixture.batch(config, steps: 3, sequences: 2)
        let state = fixture.values(2 * model.stateLayout.width)
        let got = try model.evaluate(batch, initialState: Buffer(doubles: state))
        let expected = ReferenceLanguageModel(model).run(batch, initialState: state)
        assertClose(got.loss, expected.loss, relative: tolerance, "loss")
        assertClose(model.finalState.doubles, expected.finalState, absolute: tolerance, "final state")
        XCTAssertTrue(expected.finalState.contains(0), "some unit must sit at relu's zero for this test to mean anything")
    }

    /// The window reaches 2 tokens back: into the history for t < 2, and to −1 (zero embedding)
    /// for the oldest history row.
    func testMLPWithHistory() throws {
        for activation in Activation.allCases {
            try check(makeMLPConfig(activation: activation), steps: 3, history: true, "mlp \(activation) with history")
            try check(makeMLPConfig(activation: activation), steps: 3, masked: true, "mlp \(activation) without history")
        }
    }

    func testTiedWeights() throws {
        var config = makeConfig(.lstm, layers: 1, embedding: 2, hidden: 2)
        config.tieWeights = true
        try check(config, steps: 2, "lstm tied")
        var mlp = makeMLPConfig(embedding: 4, hidden: 4)
        mlp.tieWeights = true
        try check(mlp, steps: 2, history: true, "mlp tied")
    }

    /// The loss is over the whole vocabulary: a target that the model already predicts counts as correct.
    func testCorrectCountsArgmaxHits() throws {
        let config = makeConfig(.gru, vocabulary: 4)
        let model = try Model<Double>(config: config, seed: 5)
        // A decoder bias that dwarfs everything makes token 2 the argmax everywhere.
        var bias = [Double](repeating: 0, count: 4)
        bias[2] = 50
        model.setTensor("decoder.bias", bias)
        let batch = Batch(steps: 2, sequences: 2, inputs: [0, 1, 2, 3], targets: [2, 2, 1, 2])
        let result = try model.evaluate(batch)
        XCTAssertEqual(result.count, 4)
        XCTAssertEqual(result.correct, 3)
    }
}
