import Kernels
import ModelSpec
import Models

/// The recurrent language model as ONNX nodes: `Gather` (embedding), one node of the cell's
/// operator (ONNX's `LSTM`, `GRU` or `RNN`) per layer, `MatMul` and `Add` (decoder).
///
/// Inputs `tokens` [τ × n] (int64), `h0` [L·D × n × h] and, for the LSTM, `c0` [L·D × n × h];
/// outputs `logits` [τ × n × V], then `hn` and `cn` like `h0` and `c0`. Row l·D + k of a state is
/// layer l, direction k (0 forward, 1 backward), as PyTorch's h_0 and h_n are laid out, so `hn`
/// of one chunk is `h0` of the next.
enum RecurrentGraph {
    static func build(_ model: Model<Float>, operator op: ONNXOperator, into g: inout GraphBuilder, steps: GraphBuilder.Dimension) {
        let c = model.config, h = c.hidden, D = c.directions, L = c.layers, V = c.vocabulary
        let n = GraphBuilder.Dimension.symbolic("n")
        let cellParts = CellRegistry.kind(for: c).state
        g.input("tokens", .int64, [steps, n], doc: "token ids, time-major [τ × n]")
        for part in cellParts {
            g.input("\(part)0", .float, [.fixed(L * D), n, .fixed(h)],
                    doc: "initial \(part) [layers·directions × n × h] (zeros at the start of a text; the previous chunk's \(part)n after)")
        }

        g.constant("encoder.weight", [V, c.embedding], floats: Parameters.values(model, "encoder.weight"))
        var x = g.node("Gather", ["encoder.weight", "tokens"], ["embedded"])  // [τ × n × E]
        g.constant("axis0", [1], int64s: [0])
        var finals: [String: [String]] = [:]
        for l in 0..<L {
            let (W, R, B) = weights(model, layer: l, blocks: op.blocks, into: &g)
            var inputs = [x, W, R, B, ""]  // no sequence_lens: every sequence runs all τ steps
            var outputs = ["l\(l).Y"]
            let start = g.constant("l\(l).first", [1], int64s: [Int64(l * D)])
            let end = g.constant("l\(l).end", [1], int64s: [Int64((l + 1) * D)])
            for part in cellParts {
                inputs.append(g.node("Slice", ["\(part)0", start, end, "axis0"], ["l\(l).\(part)0"]))
                outputs.append("l\(l).\(part)n")
                finals[part, default: []].append("l\(l).\(part)n")
            }
            g.node(op.type, inputs, outputs, attributes(c, op))
            // Y [τ × D × n × h] → [τ × n × D·h], the directions side by side as the next layer reads them.
            if D == 1 {
                x = g.node("Squeeze", ["l\(l).Y", g.constant("l\(l).axis1", [1], int64s: [1])], ["l\(l).out"])
            } else {
                let t = g.node("Transpose", ["l\(l).Y"], ["l\(l).Yt"], [Attribute.ints("perm", [0, 2, 1, 3])])
                x = g.node("Reshape", [t, g.constant("l\(l).shape", [3], int64s: [0, 0, Int64(D * h)])], ["l\(l).out"])
            }
        }
        Decoder.build(model, input: x, into: &g, steps: steps)
        for part in cellParts {
            g.node("Concat", finals[part]!, ["\(part)n"], [Attribute.int("axis", 0)])
            g.output("\(part)n", .float, [.fixed(L * D), n, .fixed(h)], doc: "final \(part), laid out as \(part)0")
        }
    }

    /// hidden_size and direction, then the operator's own (the RNN's φ per direction, the GRU's
    /// variant). The LSTM's and GRU's activations are ONNX's defaults (σ, tanh, tanh), which are the cells'.
    static func attributes(_ c: ModelConfig, _ op: ONNXOperator) -> [Onnx_AttributeProto] {
        [Attribute.int("hidden_size", c.hidden), Attribute.string("direction", c.bidirectional ? "bidirectional" : "forward")]
            + op.attributes(c).map { name, value in
                switch value {
                case .int(let v): Attribute.int(name, v)
                case .strings(let v): Attribute.strings(name, v)
                }
            }
    }

    /// Layer l's W [D × G·h × d], R [D × G·h × h] and B [D × 2·G·h] (W's bias, then R's), gate
    /// blocks in ONNX's order, directions forward then backward.
    static func weights(_ model: Model<Float>, layer l: Int, blocks: [Int], into g: inout GraphBuilder) -> (String, String, String) {
        let c = model.config, h = c.hidden, D = c.directions
        let G = blocks.count * h
        var w: [Float] = [], r: [Float] = [], b: [Float] = []
        for k in 0..<D {
            let s = ParameterLayout.suffix(layer: l, direction: k)
            func reordered(_ name: String) -> [Float] { GateOrder.reorder(Parameters.values(model, "rnn.\(name)_\(s)"), blocks: blocks, hidden: h) }
            w += reordered("weight_ih")
            r += reordered("weight_hh")
            b += reordered("bias_ih") + reordered("bias_hh")
        }
        return (g.constant("l\(l).W", [D, G, c.inputSize(layer: l)], floats: w),
                g.constant("l\(l).R", [D, G, h], floats: r),
                g.constant("l\(l).B", [D, 2 * G], floats: b))
    }
}
