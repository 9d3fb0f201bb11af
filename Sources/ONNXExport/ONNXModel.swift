import Files
import Foundation
import Kernels
import ModelSpec
import Models
import SwiftProtobuf
import TextData

/// A checkpoint's language model as an ONNX model: one graph (RecurrentGraph or MLPGraph) in
/// opset 17, which ONNX Runtime implements from release 1.13 on (checked with 1.32), and in its
/// metadata what a caller needs to tokenize: `tokenizer`, `vocabulary` (a JSON array of the token
/// strings, index = id), `mask_token` for a fill-in-the-middle model, and `model`, the config.
///
/// The graph computes in fp32 with the checkpoint's fp32 weights (a bf16-trained checkpoint's
/// weights are fp32 too). Dropout is off, as at inference.
public enum ONNXModel {
    public static let opset = 17
    /// ONNX's IR version 8 is the one of opset 17 (ONNX 1.12).
    static let irVersion = 8
    /// A protocol buffer message cannot exceed 2 GiB; ONNX's external-data files, which a larger
    /// model needs, are not written.
    static let maximumBytes = Int(Int32.max)

    /// The model's graph, τ fixed at `steps` or symbolic (`nil`); n is always symbolic.
    /// Throws when ONNX has no operator for the cell, or the weights alone exceed what one ONNX file holds.
    public static func encode(_ model: Model<Float>, vocabulary: Vocabulary, steps: Int?, source: String) throws -> [UInt8] {
        let c = model.config
        guard c.isWindowedMLP || CellRegistry.kind(for: c).onnx != nil else {
            throw UserError("\(source): ONNX has no operator for the \(c.architecture) cell, so its model cannot be exported")
        }
        // Every tensor as the graph stores it: a tied decoder weight a second time.
        let weightBytes = 4 * model.layout.tensors.reduce(0) { $0 + $1.count }
        guard weightBytes < maximumBytes - (1 << 20) else {
            throw UserError("\(source): the model's \(weightBytes) bytes of weights exceed the 2 GiB of one ONNX file (external data is not written)")
        }
        return Array(try message(model, vocabulary: vocabulary, steps: steps).serializedBytes() as [UInt8])
    }

    static func message(_ model: Model<Float>, vocabulary: Vocabulary, steps: Int?) -> Onnx_ModelProto {
        let dimension = steps.map { GraphBuilder.Dimension.fixed($0) } ?? .symbolic("steps")
        let c = model.config
        var g = GraphBuilder(name: "rnntrain_\(c.architecture)", doc: "rnntrain \(c.architecture) language model; tokens [τ × n] time-major")
        if c.isWindowedMLP {
            MLPGraph.build(model, into: &g, steps: dimension)
        } else {
            // `encode` has refused a cell without an operator.
            RecurrentGraph.build(model, operator: CellRegistry.kind(for: c).onnx!, into: &g, steps: dimension)
        }
        var m = Onnx_ModelProto()
        m.irVersion = Int64(irVersion)
        var operators = Onnx_OperatorSetIdProto()
        operators.domain = ""  // the default domain, ai.onnx
        operators.version = Int64(opset)
        m.opsetImport = [operators]
        m.producerName = "rnntrain"
        m.graph = g.graph
        var properties = [("tokenizer", vocabulary.kind.rawValue),
                          ("vocabulary", JSON.array(vocabulary.tokens.map(JSON.string)).text()),
                          ("model", JSON.fields(of: c, renaming: ModelConfig.fileKeys).text())]
        if let mask = vocabulary.maskToken { properties.append(("mask_token", String(mask))) }
        m.metadataProps = properties.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return m
    }
}
