import Config
import Foundation
import ModelSpec
import Models
@testable import ONNXExport
import SwiftProtobuf
import TextData
import XCTest

/// What `ONNXModel.encode` writes, read back with swift-protobuf: the graph's interface, its
/// operators and attributes, and its constants against the model's tensors rearranged here from
/// PyTorch's documented layouts. That ONNX Runtime computes the model's logits from it is
/// launch/stages/onnx's check.
final class ONNXModelTests: XCTestCase {
    private let tokens = ["a", "b", "c", "d", "e"]

    private func model(_ configure: (inout ModelConfig) -> Void) throws -> Model<Float> {
        var c = ModelConfig()
        c.hidden = 3
        c.embedding = 2
        c.layers = 1
        c.vocabulary = tokens.count
        configure(&c)
        return try Model<Float>(config: c, seed: 9)
    }

    private func decoded(_ m: Model<Float>, steps: Int?) throws -> Onnx_ModelProto {
        let vocabulary = try Vocabulary(kind: .char, tokens: tokens, maskToken: nil)
        let bytes = try ONNXModel.encode(m, vocabulary: vocabulary, steps: steps, source: "test")
        return try Onnx_ModelProto(serializedBytes: bytes)
    }

    private func tensor(_ name: String, _ m: Model<Float>) -> [Float] {
        let t = m.layout[name]
        return Array(UnsafeBufferPointer(start: m.parameters.base + t.offset, count: t.count))
    }

    private func floats(_ name: String, in proto: Onnx_ModelProto) throws -> (dims: [Int64], values: [Float]) {
        let t = try XCTUnwrap(proto.graph.initializer.first { $0.name == name }, "no initializer \(name)")
        XCTAssertEqual(t.dataType, 1, "\(name) is FLOAT")
        let values = stride(from: 0, to: t.rawData.count, by: 4).map { i in
            Float(bitPattern: t.rawData[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
        }
        return (t.dims, values)
    }

    private func dims(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map { d in
            switch d.value {
            case .dimValue(let v): String(v)
            case .dimParam(let p): p
            case nil: "?"
            }
        }
    }

    func testABidirectionalLSTMStackHasPyTorchsStatesAndONNXsGateOrder() throws {
        let m = try model { $0.architecture = .recurrent(.lstm); $0.layers = 2; $0.bidirectional = true }
        let p = try decoded(m, steps: 7)
        XCTAssertEqual(p.irVersion, 8)
        XCTAssertEqual(p.opsetImport.map(\.version), [17])
        XCTAssertEqual(p.graph.input.map(\.name), ["tokens", "h0", "c0"])
        XCTAssertEqual(p.graph.input.map(dims), [["7", "n"], ["4", "n", "3"], ["4", "n", "3"]], "states [L·D × n × h]")
        XCTAssertEqual(p.graph.input[0].type.tensorType.elemType, 7, "tokens are int64")
        XCTAssertEqual(p.graph.output.map(\.name), ["logits", "hn", "cn"])
        XCTAssertEqual(p.graph.output.map(dims), [["7", "n", "5"], ["4", "n", "3"], ["4", "n", "3"]])
        let layer = ["Slice", "Slice", "LSTM", "Transpose", "Reshape"]
        XCTAssertEqual(p.graph.node.map(\.opType), ["Gather"] + layer + layer + ["MatMul", "Add", "Concat", "Concat"])
        let lstm = try XCTUnwrap(p.graph.node.first { $0.opType == "LSTM" })
        XCTAssertEqual(lstm.attribute.first { $0.name == "direction" }?.s, Data("bidirectional".utf8))
        XCTAssertEqual(lstm.attribute.first { $0.name == "hidden_size" }?.i, 3)

        // Layer 1 reads 2h = 6 columns. ONNX's block q (i, o, f, c) is PyTorch's block (i, f, g, o)[pick[q]].
        let h = 3, d = 6, pick = [0, 3, 1, 2]
        let (wDims, w) = try floats("l1.W", in: p)
        let (_, b) = try floats("l1.B", in: p)
        XCTAssertEqual(wDims, [2, 12, 6])
        for (k, suffix) in ["l1", "l1_reverse"].enumerated() {
            let ih = tensor("rnn.weight_ih_\(suffix)", m), bih = tensor("rnn.bias_ih_\(suffix)", m), bhh = tensor("rnn.bias_hh_\(suffix)", m)
            for q in 0..<4 {
                for u in 0..<h {
                    for j in 0..<d { XCTAssertEqual(w[(k * 12 + q * h + u) * d + j], ih[(pick[q] * h + u) * d + j]) }
                    XCTAssertEqual(b[k * 24 + q * h + u], bih[pick[q] * h + u], "W's bias first")
                    XCTAssertEqual(b[k * 24 + 12 + q * h + u], bhh[pick[q] * h + u], "then R's")
                }
            }
        }
        let (tDims, decoder) = try floats("decoder.weightT", in: p)
        XCTAssertEqual(tDims, [6, 5])
        let weight = tensor("decoder.weight", m)
        for v in 0..<5 { for j in 0..<6 { XCTAssertEqual(decoder[j * 5 + v], weight[v * 6 + j]) } }
        let meta = Dictionary(uniqueKeysWithValues: p.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(meta["tokenizer"], "char")
        XCTAssertEqual(meta["vocabulary"], #"["a","b","c","d","e"]"#)
    }

    func testTheGRUVariantIsLinearBeforeReset() throws {
        for (variant, flag) in [(GRUVariant.resetBeforeMatmul, 0), (.linearBeforeReset, 1)] {
            let p = try decoded(try model { $0.architecture = .recurrent(.gru); $0.gruVariant = variant }, steps: nil)
            let gru = try XCTUnwrap(p.graph.node.first { $0.opType == "GRU" })
            XCTAssertEqual(gru.attribute.first { $0.name == "linear_before_reset" }?.i, Int64(flag), "\(variant)")
            XCTAssertEqual(p.graph.input.map(\.name), ["tokens", "h0"])
            XCTAssertEqual(dims(p.graph.input[0]), ["steps", "n"], "--steps-dynamic")
        }
    }

    func testTheRNNsActivationIsNamedPerDirection() throws {
        for (activation, name) in [(Activation.tanh, "Tanh"), (.relu, "Relu")] {
            let p = try decoded(try model { $0.architecture = .recurrent(.rnn); $0.activation = activation }, steps: 4)
            let rnn = try XCTUnwrap(p.graph.node.first { $0.opType == "RNN" })
            XCTAssertEqual(rnn.attribute.first { $0.name == "activations" }?.strings, [Data(name.utf8)])
            XCTAssertEqual(rnn.attribute.first { $0.name == "direction" }?.s, Data("forward".utf8))
        }
    }

    /// A cell with an ONNX operator becomes that operator's node; one without is refused in one
    /// line naming the cell, and nothing is encoded.
    func testEveryCellIsExportedAsItsOperatorOrRefused() throws {
        for form in CellRegistry.forms {
            let m = try model { form.apply(to: &$0) }
            if let op = CellRegistry.kind(for: m.config).onnx {
                let p = try decoded(m, steps: 3)
                XCTAssertEqual(p.graph.node.filter { $0.opType == op.type }.count, 1, form.name)
            } else {
                XCTAssertThrowsError(try decoded(m, steps: 3), form.name) { error in
                    XCTAssertEqual("\(error)", "test: ONNX has no operator for the \(form.cell) cell, so its model cannot be exported")
                }
            }
        }
    }

    func testTheMLPReadsAHistoryAndAZeroRowForNoToken() throws {
        let m = try model { $0.architecture = .windowedMLP; $0.context = 4; $0.activation = .relu }
        let p = try decoded(m, steps: 6)
        XCTAssertEqual(p.graph.input.map(\.name), ["tokens", "history"])
        XCTAssertEqual(p.graph.input.map(dims), [["6", "n"], ["3", "n"]])
        XCTAssertEqual(p.graph.output.map(\.name), ["logits", "history_out"])
        XCTAssertTrue(p.graph.node.contains { $0.opType == "Relu" })
        let (eDims, encoder) = try floats("encoder.weight", in: p)
        XCTAssertEqual(eDims, [6, 2], "V + 1 rows")
        XCTAssertEqual(Array(encoder[..<10]), tensor("encoder.weight", m))
        XCTAssertEqual(Array(encoder[10...]), [0, 0], "row V, no token, is zeros")
    }

    func testAContextOfOneHasNoHistory() throws {
        let p = try decoded(try model { $0.architecture = .windowedMLP; $0.context = 1 }, steps: 6)
        XCTAssertEqual(p.graph.input.map(\.name), ["tokens"])
        XCTAssertEqual(p.graph.output.map(\.name), ["logits"])
    }
}
