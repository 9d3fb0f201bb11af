import ModelSpec
import Models
import XCTest

/// Names and shapes are PyTorch's state_dict, storage is one gapless buffer, tied weights share.
final class ParameterLayoutTests: XCTestCase {
    private func lstmConfig(tied: Bool = false) -> ModelConfig {
        var c = makeConfig(.lstm, layers: 2, bidirectional: true, vocabulary: 7, embedding: tied ? 6 : 5, hidden: 3)
        c.tieWeights = tied
        return c
    }

    /// nn.Embedding(7, 5), nn.LSTM(5, 3, num_layers=2, bidirectional=True), nn.Linear(6, 7):
    /// weight_ih_l0 is [4h × input] = [12 × 5]; layer 1 reads both directions, [12 × 6].
    func testNamesAndShapesArePyTorchStateDict() {
        let expected: [(String, [Int])] = [
            ("encoder.weight", [7, 5]),
            ("rnn.weight_ih_l0", [12, 5]), ("rnn.weight_hh_l0", [12, 3]), ("rnn.bias_ih_l0", [12]), ("rnn.bias_hh_l0", [12]),
            ("rnn.weight_ih_l0_reverse", [12, 5]), ("rnn.weight_hh_l0_reverse", [12, 3]),
            ("rnn.bias_ih_l0_reverse", [12]), ("rnn.bias_hh_l0_reverse", [12]),
            ("rnn.weight_ih_l1", [12, 6]), ("rnn.weight_hh_l1", [12, 3]), ("rnn.bias_ih_l1", [12]), ("rnn.bias_hh_l1", [12]),
            ("rnn.weight_ih_l1_reverse", [12, 6]), ("rnn.weight_hh_l1_reverse", [12, 3]),
            ("rnn.bias_ih_l1_reverse", [12]), ("rnn.bias_hh_l1_reverse", [12]),
            ("decoder.weight", [7, 6]), ("decoder.bias", [7]),
        ]
        let layout = ParameterLayout(config: lstmConfig())
        XCTAssertEqual(layout.tensors.map(\.name), expected.map(\.0))
        XCTAssertEqual(layout.tensors.map(\.shape), expected.map(\.1))
        XCTAssertEqual(layout.count, 35 + 2 * (60 + 36 + 24) + 2 * (72 + 36 + 24) + 42 + 7)
    }

    func testGRUAndRNNGateWidths() {
        let gru = ParameterLayout(config: makeConfig(.gru, embedding: 5, hidden: 3))
        XCTAssertEqual(gru["rnn.weight_ih_l0"].shape, [9, 5])
        XCTAssertEqual(gru["rnn.bias_hh_l0"].shape, [9])
        let rnn = ParameterLayout(config: makeConfig(.rnnRelu, embedding: 5, hidden: 3))
        XCTAssertEqual(rnn["rnn.weight_hh_l0"].shape, [3, 3])
        let mlp = ParameterLayout(config: makeMLPConfig(vocabulary: 7, embedding: 5, hidden: 4, context: 3))
        XCTAssertEqual(mlp.tensors.map(\.name), ["encoder.weight", "hidden.weight", "hidden.bias", "decoder.weight", "decoder.bias"])
        XCTAssertEqual(mlp["hidden.weight"].shape, [4, 15])
    }

    /// Every registered cell has nn.RNN/LSTM/GRU's four tensors per direction, with the gate count
    /// of the PyTorch module it names (from PyTorch's documentation: RNN 1, LSTM 4, GRU 3), or of
    /// its own gates when PyTorch has no such cell.
    func testEveryRegisteredCellHasPyTorchShapes() {
        let pytorchGates = ["nn.RNN": 1, "nn.LSTM": 4, "nn.GRU": 3]
        for form in CellRegistry.forms {
            let kind = CellRegistry.kind(for: makeConfig(form))
            let G = kind.pytorchModule.map { pytorchGates[$0] ?? -1 } ?? kind.gates.count
            let h = 3, layout = ParameterLayout(config: makeConfig(form, layers: 2, bidirectional: true, embedding: 5, hidden: h))
            for s in ["l0", "l0_reverse", "l1", "l1_reverse"] {
                XCTAssertEqual(layout["rnn.weight_ih_\(s)"].shape, [G * h, s.hasPrefix("l0") ? 5 : 2 * h], "\(form.name) \(s)")
                XCTAssertEqual(layout["rnn.weight_hh_\(s)"].shape, [G * h, h], "\(form.name) \(s)")
                XCTAssertEqual(layout["rnn.bias_ih_\(s)"].shape, [G * h], "\(form.name) \(s)")
                XCTAssertEqual(layout["rnn.bias_hh_\(s)"].shape, [G * h], "\(form.name) \(s)")
            }
            XCTAssertEqual(layout.tensors.count, 1 + 4 * 4 + 2, "\(form.name)")
        }
    }

    /// Every element of storage belongs to exactly one untied tensor.
    func testStorageRangesTileTheBuffer() {
        for config in [lstmConfig(), lstmConfig(tied: true), makeMLPConfig()] {
            let layout = ParameterLayout(config: config)
            var owner = [String?](repeating: nil, count: layout.count)
            for t in layout.tensors where t.aliasOf == nil {
                XCTAssertEqual(t.count, t.shape.reduce(1, *), t.name)
                XCTAssertTrue(t.offset >= 0 && t.range.upperBound <= layout.count, "\(t.name) \(t.range) outside \(layout.count)")
                for i in t.range.clamped(to: 0..<layout.count) {
                    XCTAssertNil(owner[i], "\(t.name) overlaps \(owner[i] ?? "") at \(i)")
                    owner[i] = t.name
                }
            }
            XCTAssertFalse(owner.contains(nil), "storage has a gap at \(owner.firstIndex(of: nil) ?? -1)")
        }
    }

    func testTiedDecoderAliasesEncoderAndIsCountedOnce() throws {
        let untied = ParameterLayout(config: lstmConfig(tied: false))
        let tied = ParameterLayout(config: lstmConfig(tied: true))
        let decoder = tied["decoder.weight"], encoder = tied["encoder.weight"]
        XCTAssertEqual(decoder.aliasOf, "encoder.weight")
        XCTAssertEqual(decoder.range, encoder.range)
        XCTAssertEqual(decoder.shape, [7, 6])
        XCTAssertNil(encoder.aliasOf)
        XCTAssertTrue(tied.tensors.contains { $0.name == "decoder.weight" }, "the tied name is still listed for state_dict")
        // E 6 instead of 5 adds one column to encoder and the layer-0 weight_ih of both directions;
        // tying removes decoder.weight's 7 × 6.
        XCTAssertEqual(tied.count, untied.count + 7 + 2 * 12 - 42)

        // The alias is real: writing the encoder changes what the decoder computes.
        let model = try Model<Double>(config: lstmConfig(tied: true), seed: 1)
        let batch = Batch(steps: 1, sequences: 1, inputs: [0], targets: [3])
        let before = try model.evaluate(batch).loss
        model.parameters[encoder.offset + 3 * 6] += 1  // row 3: token 3 is only the target, never an input
        XCTAssertNotEqual(try model.evaluate(batch).loss, before)
    }
}
