import ModelSpec

/// One named tensor: a view of `count` elements at `offset` in the flat parameter buffer.
public struct ParameterTensor: Equatable, Sendable {
    public let name: String
    public let offset: Int
    public let shape: [Int]
    /// Set on a name that views another tensor's storage (the tied decoder weight).
    public let aliasOf: String?

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Where every tensor of a model lives in the one flat buffer, with PyTorch's names and shapes
/// (word-language-model: `encoder`, `rnn`, `decoder`; the MLP's hidden layer is `hidden`).
///
/// Storage runs in the order backward finishes gradients (decoder, top layer, ..., embedding), so
/// a finished part is one contiguous range that can be reduced while backward goes on.
/// `tensors` lists names in PyTorch's `state_dict` order.
public struct ParameterLayout: Equatable, Sendable, CustomStringConvertible {
    public let tensors: [ParameterTensor]
    /// Elements of storage (tied tensors counted once).
    public let count: Int

    public init(config: ModelConfig) {
        let V = config.vocabulary, E = config.embedding, H = config.hidden
        // Groups in state_dict order; storage takes the groups in reverse.
        var groups: [[(String, [Int])]] = [[("encoder.weight", [V, E])]]
        if config.isWindowedMLP {
            groups.append([("hidden.weight", [H, config.context * E]), ("hidden.bias", [H])])
        } else {
            let G = CellRegistry.cell(for: config).gateCount * H
            for layer in 0..<config.layers {
                for direction in 0..<config.directions {
                    let s = Self.suffix(layer: layer, direction: direction)
                    groups.append([("rnn.weight_ih_\(s)", [G, config.inputSize(layer: layer)]),
                                   ("rnn.weight_hh_\(s)", [G, H]),
                                   ("rnn.bias_ih_\(s)", [G]), ("rnn.bias_hh_\(s)", [G])])
                }
            }
        }
        groups.append([("decoder.weight", [V, config.decoderInput]), ("decoder.bias", [V])])

        var byName: [String: ParameterTensor] = [:]
        var offset = 0
        for (name, shape) in groups.reversed().joined() where !(config.tieWeights && name == "decoder.weight") {
            byName[name] = ParameterTensor(name: name, offset: offset, shape: shape, aliasOf: nil)
            offset += shape.reduce(1, *)
        }
        if config.tieWeights, let e = byName["encoder.weight"] {
            byName["decoder.weight"] = ParameterTensor(name: "decoder.weight", offset: e.offset,
                                                       shape: e.shape, aliasOf: e.name)
        }
        count = offset
        tensors = groups.joined().map { byName[$0.0]! }
    }

    /// `l{k}` or `l{k}_reverse`, PyTorch's suffix for layer k and direction.
    public static func suffix(layer: Int, direction: Int) -> String {
        direction == 0 ? "l\(layer)" : "l\(layer)_reverse"
    }

    public subscript(name: String) -> ParameterTensor {
        guard let t = tensors.first(where: { $0.name == name }) else {
            preconditionFailure("no parameter named \(name)")
        }
        return t
    }

    public var description: String {
        tensors.map { t in
            let shape = t.shape.map(String.init).joined(separator: " × ")
            let at = t.aliasOf.map { "tied to \($0)" } ?? "offset \(t.offset)"
            return "\(t.name) [\(shape)] \(at)"
        }.joined(separator: "\n")
    }
}
