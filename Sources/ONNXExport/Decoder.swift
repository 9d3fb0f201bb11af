import Kernels
import Models

/// The decoder as ONNX nodes, `logits = x · decoder.weightᵀ + decoder.bias`: x [τ × n × D] to
/// the graph's output `logits` [τ × n × V]. The weight is stored transposed, [D × V], which is
/// what MatMul takes; a tied weight is stored again (its values are the embedding's).
enum Decoder {
    static func build(_ model: Model<Float>, input x: String, into g: inout GraphBuilder, steps: GraphBuilder.Dimension) {
        let V = model.config.vocabulary, D = model.config.decoderInput
        g.constant("decoder.weightT", [D, V], floats: Parameters.transposed(model, "decoder.weight"))
        g.constant("decoder.bias", [V], floats: Parameters.values(model, "decoder.bias"))
        let product = g.node("MatMul", [x, "decoder.weightT"], ["decoded"])
        g.node("Add", [product, "decoder.bias"], ["logits"])
        g.output("logits", .float, [steps, .symbolic("n"), .fixed(V)], doc: "unnormalised log-probabilities of the next token [τ × n × V]")
    }
}

/// A model's tensors by their checkpoint (PyTorch) names.
enum Parameters {
    /// The values of tensor `name`, row-major in its checkpoint shape.
    static func values(_ model: Model<Float>, _ name: String) -> [Float] {
        let t = model.layout[name]
        return Array(UnsafeBufferPointer(start: model.parameters.base + t.offset, count: t.count))
    }

    /// The matrix `name` [r × c] transposed, [c × r] row-major: what MatMul multiplies x [… × c] by.
    static func transposed(_ model: Model<Float>, _ name: String) -> [Float] {
        let t = model.layout[name], r = t.shape[0], c = t.shape[1]
        let p = model.parameters.base + t.offset
        var out = [Float](repeating: 0, count: r * c)
        for i in 0..<r {
            for j in 0..<c { out[j * r + i] = p[i * c + j] }
        }
        return out
    }
}
