import Files
import Kernels
import ModelSpec

/// Windows mode: the tokens are cut into W windows on a grid shifted by an offset keyed by
/// (seed, epoch); each epoch visits them in a permutation keyed by (seed, epoch), B per step.
/// No state is carried. For the language-modelling task a window holds τ + 1 tokens (inputs and
/// the targets one ahead); for fill-in-the-middle it holds τ tokens, of which about mask_rate
/// are replaced by the mask token and scored, chosen by a hash of (seed, epoch, window, position).
public struct WindowBatches: Sendable {
    public let tokens: any TokenStream
    public let globalBatch: Int
    public let steps: Int
    public let seed: UInt64
    /// Set for fill-in-the-middle.
    public let fill: (maskToken: Int32, rate: Double)?
    /// Tokens per window.
    public let span: Int
    /// Windows every epoch has, whatever its shift.
    public let windowCount: Int
    private let cache = PermutationCache()

    /// Training shifts the grid by up to span − 1 tokens per epoch (`shifted`), so it counts
    /// only the windows every shift has; evaluation reads the unshifted grid.
    public init(tokens: any TokenStream, globalBatch: Int, steps: Int, seed: UInt64,
                fill: (maskToken: Int32, rate: Double)?, source: String, shifted: Bool = true) throws {
        span = fill == nil ? steps + 1 : steps
        let reach = shifted ? tokens.count - span + 1 : tokens.count
        windowCount = reach >= span ? reach / span : 0
        guard windowCount >= max(1, globalBatch) else {
            if !shifted {
                throw UserError("\(source): \(tokens.count) tokens are fewer than one window of \(span) tokens")
            }
            throw UserError("\(source): \(tokens.count) tokens make \(windowCount) windows of \(span) tokens, fewer than train.global_batch = \(globalBatch); lower the batch or τ, or use more text")
        }
        self.tokens = tokens
        self.globalBatch = globalBatch
        self.steps = steps
        self.seed = seed
        self.fill = fill
    }

    public var stepsPerEpoch: Int { windowCount / globalBatch }

    public func makeBatch(sequences: Range<Int>) -> Batch {
        let n = sequences.count
        var batch = Batch(steps: steps, sequences: n, inputs: .init(repeating: 0, count: steps * n),
                          targets: .init(repeating: 0, count: steps * n))
        if fill != nil { batch.mask = .init(repeating: 0, count: steps * n) }
        return batch
    }

    /// The sequences `sequences` of the global batch of training step `step`. Throws when a token
    /// read is not an id of the vocabulary (`TokenStream.copy`).
    public func fill(_ batch: inout Batch, step: Int, sequences: Range<Int>) throws {
        let epoch = step / stepsPerEpoch, index = step % stepsPerEpoch
        let permutation = cache.permutation(epoch: epoch, count: windowCount, seed: seed)
        let shift = Int(CounterHash.key(seed, UInt64(epoch), 0x5348_4946_54) % UInt64(span))
        try write(&batch, sequences: sequences, epoch: UInt64(epoch)) { g in
            let window = permutation[index * globalBatch + g]
            return (window, shift + window * span)
        }
    }

    /// Windows `first ..< first + n` in file order, no shift, masks keyed by epoch 0 of `seed`:
    /// what evaluation reads.
    public func fillInOrder(_ batch: inout Batch, first: Int) throws {
        try write(&batch, sequences: 0..<batch.sequences, epoch: 0) { g in (first + g, (first + g) * span) }
    }

    private func write(_ batch: inout Batch, sequences: Range<Int>, epoch: UInt64, windowOf: (Int) -> (id: Int, start: Int)) throws {
        let n = sequences.count
        precondition(batch.sequences == n && batch.steps == steps, "batch shape does not match")
        batch.firstSequence = sequences.lowerBound
        try withUnsafeTemporaryAllocation(of: Int32.self, capacity: span) { window in
            for (i, g) in sequences.enumerated() {
                let (id, start) = windowOf(g)
                try tokens.copy(start..<(start + span), to: window.baseAddress!)
                guard let fill else {
                    for t in 0..<steps {
                        batch.inputs[t * n + i] = window[t]
                        batch.targets[t * n + i] = window[t + 1]
                    }
                    continue
                }
                let threshold = UInt64(fill.rate * 0x1p53)
                var masked = 0
                for t in 0..<steps {
                    let token = window[t]
                    let hit = CounterHash.key(seed, epoch, UInt64(id), UInt64(t)) >> 11 < threshold
                    batch.inputs[t * n + i] = hit ? fill.maskToken : token
                    batch.targets[t * n + i] = token
                    batch.mask![t * n + i] = hit ? 1 : 0
                    masked += hit ? 1 : 0
                }
                if masked == 0 {
                    // Every window scores at least one position.
                    let t = Int(CounterHash.key(seed, epoch, UInt64(id), 0x4f4e45) % UInt64(steps))
                    batch.inputs[t * n + i] = fill.maskToken
                    batch.mask![t * n + i] = 1
                }
            }
        }
    }
}

/// The permutation of the current epoch, computed once per epoch.
private final class PermutationCache: @unchecked Sendable {
    private var epoch = -1
    private var order: [Int] = []

    func permutation(epoch: Int, count: Int, seed: UInt64) -> [Int] {
        if epoch != self.epoch {
            var rng = SplitMix64(seed: CounterHash.key(seed, UInt64(epoch), 0x5045_524d))
            order = Array(0..<count)
            for i in stride(from: count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
            }
            self.epoch = epoch
        }
        return order
    }
}
