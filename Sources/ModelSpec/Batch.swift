/// One chunk of τ time steps for n sequences, time-major: entry (t, i) is at index t·n + i.
public struct Batch: Sendable {
    public let steps: Int
    public let sequences: Int
    /// Input tokens [τ × n].
    public var inputs: [Int32]
    /// Target tokens [τ × n]; a negative target is not scored.
    public var targets: [Int32]
    /// Optional loss mask [τ × n]: a position is scored only where the mask is non-zero.
    public var mask: [UInt8]?
    /// For the MLP: the k − 1 tokens before the chunk [(k − 1) × n], oldest first, −1 where the
    /// sequence had not begun. Nil means none (every sequence starts here).
    public var history: [Int32]?
    /// Global index of local sequence 0 in the global batch: dropout masks are keyed by it.
    public var firstSequence: Int

    public init(steps: Int, sequences: Int, inputs: [Int32], targets: [Int32], mask: [UInt8]? = nil,
                history: [Int32]? = nil, firstSequence: Int = 0) {
        self.steps = steps
        self.sequences = sequences
        self.inputs = inputs
        self.targets = targets
        self.mask = mask
        self.history = history
        self.firstSequence = firstSequence
    }

    /// Shapes agree with τ·n, and every token is inside `config.vocabulary`.
    public func validate(config: ModelConfig) throws {
        let cells = steps * sequences
        guard steps >= 1, sequences >= 1 else {
            throw ModelError.shapeMismatch("a batch needs τ ≥ 1 and n ≥ 1, got τ \(steps), n \(sequences)")
        }
        guard inputs.count == cells, targets.count == cells else {
            throw ModelError.shapeMismatch("inputs \(inputs.count) and targets \(targets.count) must both be τ·n = \(cells)")
        }
        if let mask, mask.count != cells {
            throw ModelError.shapeMismatch("mask has \(mask.count) entries, τ·n = \(cells)")
        }
        if let history, history.count != (config.context - 1) * sequences {
            throw ModelError.shapeMismatch("history has \(history.count) tokens, (k − 1)·n = \((config.context - 1) * sequences)")
        }
        guard firstSequence >= 0 else {
            throw ModelError.shapeMismatch("firstSequence must be ≥ 0, got \(firstSequence)")
        }
        let V = Int32(config.vocabulary)
        if let bad = history?.first(where: { $0 < -1 || $0 >= V }) {
            throw ModelError.shapeMismatch("history token \(bad) outside the vocabulary of \(V) (−1 marks no token)")
        }
        if let bad = inputs.first(where: { $0 < 0 || $0 >= V }) {
            throw ModelError.shapeMismatch("input token \(bad) outside the vocabulary of \(V)")
        }
        if let bad = targets.first(where: { $0 >= V }) {
            throw ModelError.shapeMismatch("target token \(bad) outside the vocabulary of \(V)")
        }
    }
}
