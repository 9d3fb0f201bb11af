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

    func validate(config: ModelConfig) throws {
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

/// Summed loss over the scored positions of a batch.
public struct LossSum: Equatable, Sendable {
    public var loss: Double
    public var count: Int
    /// Scored positions whose most likely token was the target.
    public var correct: Int

    public init(loss: Double = 0, count: Int = 0, correct: Int = 0) {
        self.loss = loss
        self.count = count
        self.correct = correct
    }

    public static func += (a: inout LossSum, b: LossSum) {
        a.loss += b.loss
        a.count += b.count
        a.correct += b.correct
    }
}

/// What keys the dropout masks of one training step. Masks are a function of
/// (seed, step, global sequence index, site, position), never of the rank or the batch split.
public struct DropoutKey: Sendable {
    public var seed: UInt64
    public var step: UInt64

    public init(seed: UInt64, step: UInt64) {
        self.seed = seed
        self.step = step
    }
}
