/// A recurrent cell's config name. Which names exist is the cells' own declaration, in Models
/// (`CellRegistry`); this module, which Config and TextData read without the kernels, knows a
/// name only by its form, and `CellRegistry.check` refuses a name no cell declares wherever a
/// config enters from a file.
public struct Cell: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let rnn = Cell(named: "rnn")
    public static let lstm = Cell(named: "lstm")
    public static let gru = Cell(named: "gru")

    /// Longest name accepted: a config from a hostile file quotes it in its error line.
    private static let longestName = 32

    /// nil unless `rawValue` has a name's form: 1 to 32 of a–z, 0–9 and `-`, starting with a letter.
    public init?(rawValue: String) {
        let letter = UInt8(ascii: "a")...UInt8(ascii: "z"), digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        let bytes = Array(rawValue.utf8)
        guard (1...Self.longestName).contains(bytes.count), letter.contains(bytes[0]),
              bytes.allSatisfy({ letter.contains($0) || digit.contains($0) || $0 == UInt8(ascii: "-") }) else { return nil }
        self.rawValue = rawValue
    }

    /// A cell's own declaration of its name, unchecked.
    public init(named name: String) { rawValue = name }

    public var description: String { rawValue }
}

/// `model.cell`: a stack of recurrent layers of a cell, or `mlp`, the windowed MLP baseline with
/// no hidden state (Models' WindowedMLP.swift), an architecture of its own beside them. Read and
/// written as that one string by configs, checkpoints' config.yaml and safetensors
/// `__metadata__`; a string that is neither `mlp` nor a cell's name in form is refused here, and a
/// name no cell declares by `CellRegistry.check`.
public enum Architecture: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    case recurrent(Cell)
    case windowedMLP

    static let mlpName = "mlp"

    public init?(rawValue: String) {
        if rawValue == Self.mlpName {
            self = .windowedMLP
        } else if let cell = Cell(rawValue: rawValue) {
            self = .recurrent(cell)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .recurrent(let cell): return cell.rawValue
        case .windowedMLP: return Self.mlpName
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let architecture = Architecture(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a cell's name: \(name)")
        }
        self = architecture
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// φ of the vanilla RNN and of the MLP's hidden layer.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case tanh, relu
}

/// Where the GRU applies its reset gate: before the recurrent matmul, `(R ⊙ H) W_hh`, as the
/// course notes write it; or after it, `R ⊙ (H W_hh + b_hh)`, as cuDNN and PyTorch's nn.GRU do.
///
/// The raw values are the config strings, read and written by configs, checkpoints' config.yaml
/// and safetensors `__metadata__`. The first case keeps the string `notes` it has always been
/// written as, so every file written before and after the case was renamed reads the same.
public enum GRUVariant: String, Codable, CaseIterable, Sendable {
    case resetBeforeMatmul = "notes"
    case linearBeforeReset = "linear-before-reset"
}

/// Everything that fixes a model's shape and function.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// `model.cell`, the key it has always been written under.
    public var architecture: Architecture = .recurrent(.lstm)
    public var activation: Activation = .tanh
    public var layers = 2
    public var hidden = 256
    public var embedding = 64
    public var bidirectional = false
    public var gruVariant: GRUVariant = .resetBeforeMatmul
    public var dropout = 0.0
    public var tieWeights = false
    /// Tokens the MLP sees (its Markov order k); unused by recurrent cells.
    public var context = 8
    /// Set from the tokenizer, not by the user.
    public var vocabulary = 0

    public init() {}

    /// The stored properties whose key in files is not their name (`JSON.fields(of:renaming:)`),
    /// as in `CodingKeys`.
    public static let fileKeys = ["architecture": "cell"]

    private enum CodingKeys: String, CodingKey {
        case architecture = "cell", activation, layers, hidden, embedding, bidirectional, gruVariant, dropout, tieWeights,
             context, vocabulary
    }

    public var isWindowedMLP: Bool { architecture == .windowedMLP }

    public var directions: Int { bidirectional ? 2 : 1 }

    /// Width of what the decoder reads: h · directions, or the MLP's hidden width.
    public var decoderInput: Int { isWindowedMLP ? hidden : hidden * directions }

    /// Width of a row of looked-up embeddings: E, or k·E for the MLP's window of k tokens.
    public var embeddedWidth: Int { isWindowedMLP ? context * embedding : embedding }

    /// Tokens before a chunk that the model reads: the MLP's k − 1 context tokens; none for a
    /// recurrent model, whose carried state holds the past.
    public var historyTokens: Int { isWindowedMLP ? context - 1 : 0 }

    /// The input width of recurrent layer `layer`.
    public func inputSize(layer: Int) -> Int { layer == 0 ? embedding : hidden * directions }

    /// Largest sizes accepted. Far beyond any model this trainer can hold in memory, they exist so
    /// that a config from a hostile file or a typo (hidden: 1e18) is refused with a message instead
    /// of overflowing an Int: with them, every parameter count of `ParameterLayout`, the state width
    /// and a [τ·n × V] activation with τ, n ≤ 2^16 stay below 2^57.
    public enum Limit {
        public static let vocabulary = 1 << 24
        public static let hidden = 1 << 16
        public static let embedding = 1 << 16
        public static let layers = 256
        public static let context = 1024
    }

    public func validate() throws {
        func fail(_ key: String, _ why: String) -> ModelError { .invalidConfig(key: key, reason: why) }
        guard vocabulary >= 2 else { throw fail("model.vocabulary", "needs at least 2 tokens, got \(vocabulary)") }
        guard hidden >= 1 else { throw fail("model.hidden", "must be at least 1, got \(hidden)") }
        guard embedding >= 1 else { throw fail("model.embedding", "must be at least 1, got \(embedding)") }
        guard layers >= 1 else { throw fail("model.layers", "must be at least 1, got \(layers)") }
        for (value, key, limit) in [(vocabulary, "model.vocabulary", Limit.vocabulary), (hidden, "model.hidden", Limit.hidden),
                                    (embedding, "model.embedding", Limit.embedding), (layers, "model.layers", Limit.layers),
                                    (context, "model.context", Limit.context)] where value > limit {
            throw fail(key, "must be at most \(limit), got \(value)")
        }
        guard dropout >= 0, dropout < 1 else { throw fail("model.dropout", "must be in [0, 1), got \(dropout)") }
        if isWindowedMLP {
            guard layers == 1 else { throw fail("model.layers", "the mlp has one hidden layer, got \(layers)") }
            guard !bidirectional else { throw fail("model.bidirectional", "the mlp has no directions") }
            guard context >= 1 else { throw fail("model.context", "must be at least 1, got \(context)") }
        }
        if tieWeights, embedding != decoderInput {
            throw fail("model.tie_weights", "needs embedding (\(embedding)) = decoder input (\(decoderInput))")
        }
    }
}
