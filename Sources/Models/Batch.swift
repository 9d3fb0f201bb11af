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
