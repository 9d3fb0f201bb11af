import ModelSpec
import Models
import Kernels

/// The cell forms tests name directly; tests that cover every cell enumerate `CellRegistry.forms`.
extension CellForm {
    static let rnnTanh = CellRegistry.form(named: "rnn-tanh")!
    static let rnnRelu = CellRegistry.form(named: "rnn-relu")!
    static let lstm = CellRegistry.form(named: "lstm")!
    static let gru = CellRegistry.form(named: "gru")!
    static let gruLinearBeforeReset = CellRegistry.form(named: "gru-linear-before-reset")!
}

func makeConfig(_ cell: CellForm, layers: Int = 1, bidirectional: Bool = false, vocabulary: Int = 5,
                embedding: Int = 3, hidden: Int = 2, dropout: Double = 0) -> ModelConfig {
    var c = ModelConfig()
    cell.apply(to: &c)
    c.layers = layers
    c.bidirectional = bidirectional
    c.vocabulary = vocabulary
    c.embedding = embedding
    c.hidden = hidden
    c.dropout = dropout
    return c
}

func makeMLPConfig(vocabulary: Int = 5, embedding: Int = 3, hidden: Int = 4, context: Int = 3,
                   activation: Activation = .tanh, dropout: Double = 0) -> ModelConfig {
    var c = ModelConfig()
    c.architecture = .windowedMLP
    c.layers = 1
    c.activation = activation
    c.vocabulary = vocabulary
    c.embedding = embedding
    c.hidden = hidden
    c.context = context
    c.dropout = dropout
    return c
}

/// Reproducible batches and states.
struct Fixture {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func tokens(_ count: Int, vocabulary: Int) -> [Int32] {
        (0..<count).map { _ in Int32(rng.next() % UInt64(vocabulary)) }
    }

    /// τ × n tokens; with `history`, (k − 1) × n earlier tokens whose oldest row is −1 (not begun).
    mutating func batch(_ config: ModelConfig, steps: Int, sequences: Int, masked: Bool = false,
                        history: Bool = false) -> Batch {
        let V = config.vocabulary, cells = steps * sequences
        var b = Batch(steps: steps, sequences: sequences, inputs: tokens(cells, vocabulary: V),
                      targets: tokens(cells, vocabulary: V))
        if masked { b.mask = (0..<cells).map { $0 % 3 == 1 ? 0 : 1 } }
        if history {
            let rows = config.context - 1
            b.history = (0..<(rows * sequences)).map { $0 < sequences ? -1 : Int32(rng.next() % UInt64(V)) }
        }
        return b
    }

    mutating func values(_ count: Int, bound: Double = 0.5) -> [Double] {
        (0..<count).map { _ in rng.uniform(bound) }
    }
}

extension Buffer where Element: Scalar {
    convenience init(doubles: [Double]) { self.init(doubles.map { Element($0) }) }
    var doubles: [Double] { array.map { Double($0) } }
}

extension Model {
    func tensor(_ name: String) -> [Double] {
        layout[name].range.map { Double(parameters[$0]) }
    }

    func setTensor(_ name: String, _ values: [Double]) {
        let t = layout[name]
        precondition(values.count == t.count, "\(name) has \(t.count) entries")
        for (i, v) in zip(t.range, values) { parameters[i] = T(v) }
    }

    func gradient(_ name: String) -> [Double] {
        layout[name].range.map { Double(gradients[$0]) }
    }
}

/// The sequences [first, first + count) of a time-major batch, as a batch of their own.
func slice(_ b: Batch, sequences first: Int, count: Int, contextRows: Int = 0) -> Batch {
    func columns<E>(_ x: [E], rows: Int) -> [E] {
        (0..<rows).flatMap { t in x[(t * b.sequences + first)..<(t * b.sequences + first + count)] }
    }
    return Batch(steps: b.steps, sequences: count, inputs: columns(b.inputs, rows: b.steps),
                 targets: columns(b.targets, rows: b.steps), mask: b.mask.map { columns($0, rows: b.steps) },
                 history: b.history.map { columns($0, rows: contextRows) }, firstSequence: b.firstSequence + first)
}

/// Rows [first, first + count) of a state matrix [n × width].
func stateRows(_ s: [Double], width: Int, first: Int, count: Int) -> [Double] {
    Array(s[(first * width)..<((first + count) * width)])
}
