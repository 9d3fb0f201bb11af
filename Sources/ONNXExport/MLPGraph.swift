import Kernels
import Models

/// The windowed MLP as ONNX nodes: each position reads the embeddings of its k tokens
/// t−k+1 … t side by side [τ × n × k·E], then φ(x · hidden.weightᵀ + hidden.bias) [τ × n × H]
/// feeds the decoder.
///
/// Inputs `tokens` [τ × n] (int64) and, when k > 1, `history` [k−1 × n]: the k−1 tokens before
/// the chunk, oldest first; outputs `logits` [τ × n × V], then `history_out` [k−1 × n], the last
/// k−1 tokens of history and tokens, which is the next chunk's `history`. Before a text begins
/// there is no token: the history is then V, an id whose embedding row is zeros (the table has
/// V + 1 rows), as rnntrain's MLP reads a zero embedding before the first token.
enum MLPGraph {
    static func build(_ model: Model<Float>, into g: inout GraphBuilder, steps: GraphBuilder.Dimension) {
        let c = model.config, k = c.context, E = c.embedding, H = c.hidden, V = c.vocabulary
        let n = GraphBuilder.Dimension.symbolic("n")
        g.input("tokens", .int64, [steps, n], doc: "token ids, time-major [τ × n]")
        g.constant("encoder.weight", [V + 1, E], floats: Parameters.values(model, "encoder.weight") + Array(repeating: 0, count: E))

        // all [k−1+τ × n]: the history, then the chunk.
        var all = "tokens"
        if k > 1 {
            g.input("history", .int64, [.fixed(k - 1), n],
                    doc: "the \(k - 1) tokens before the chunk, oldest first [k−1 × n] (\(V), no token, at the start of a text)")
            all = g.node("Concat", ["history", "tokens"], ["window.tokens"], [Attribute.int("axis", 0)])
            let start = g.constant("history.start", [1], int64s: [Int64(1 - k)])
            let end = g.constant("history.end", [1], int64s: [Int64.max])
            g.node("Slice", [all, start, end, g.constant("history.axis", [1], int64s: [0])], ["history_out"])
        }
        // index [τ × k] = t + j: row t of the window reads all[t ..< t+k].
        let shape = g.node("Shape", ["tokens"], ["tokens.shape"])
        let tau = g.node("Gather", [shape, g.constant("zero", [], int64s: [0])], ["tau"], [Attribute.int("axis", 0)])
        let t = g.node("Range", ["zero", tau, g.constant("one", [], int64s: [1])], ["t"])
        let column = g.node("Unsqueeze", [t, g.constant("axis1", [1], int64s: [1])], ["t.column"])
        let index = g.node("Add", [column, g.constant("window.offsets", [1, k], int64s: (0..<k).map(Int64.init))], ["window.index"])
        let windows = g.node("Gather", [all, index], ["windows"], [Attribute.int("axis", 0)])  // [τ × k × n]
        let ids = g.node("Transpose", [windows], ["window.ids"], [Attribute.ints("perm", [0, 2, 1])])  // [τ × n × k]
        let embedded = g.node("Gather", ["encoder.weight", ids], ["embedded"])  // [τ × n × k × E]
        let x = g.node("Reshape", [embedded, g.constant("window.shape", [3], int64s: [0, 0, Int64(k * E)])], ["window"])

        g.constant("hidden.weightT", [k * E, H], floats: Parameters.transposed(model, "hidden.weight"))
        g.constant("hidden.bias", [H], floats: Parameters.values(model, "hidden.bias"))
        let product = g.node("MatMul", [x, "hidden.weightT"], ["hidden.product"])
        let pre = g.node("Add", [product, "hidden.bias"], ["hidden.pre"])
        let hidden = g.node(c.activation == .relu ? "Relu" : "Tanh", [pre], ["hidden"])
        Decoder.build(model, input: hidden, into: &g, steps: steps)
        if k > 1 {
            g.output("history_out", .int64, [.fixed(k - 1), n], doc: "the last \(k - 1) tokens seen, the next chunk's history")
        }
    }
}
