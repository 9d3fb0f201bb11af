import Files
import ModelSpec

/// Stream mode (char-rnn, Zaremba et al.): the tokens are cut into S contiguous streams of L
/// inputs each; chunk c of every stream is its next τ tokens, and the caller carries each
/// stream's hidden state from chunk to chunk (truncated BPTT).
///
/// Stream s is global sequence s: any rank, any micro-batch, reads the same stream the same way.
public struct StreamBatches: Sendable {
    public let tokens: any TokenStream
    public let streams: Int
    public let steps: Int
    /// Inputs per stream: L = (T − 1) / S, each followed by its target.
    public let length: Int
    /// Tokens of history the MLP wants before each chunk (k − 1), 0 for recurrent models.
    public let history: Int

    /// Training needs at least one full chunk per stream (`fullChunks`); evaluation takes
    /// streams of any length ≥ 1.
    public init(tokens: any TokenStream, streams: Int, steps: Int, history: Int, source: String, fullChunks: Bool = true) throws {
        // Neighbouring streams share a token (one's last target is the next one's first input).
        guard tokens.count >= (fullChunks ? streams * steps : streams) + 1 else {
            if !fullChunks {
                throw UserError("\(source): \(tokens.count) token\(tokens.count == 1 ? " is" : "s are") too few to evaluate \(streams) stream\(streams == 1 ? "" : "s"): at least \(streams + 1) are needed")
            }
            throw UserError("\(source): \(tokens.count) tokens are too few for \(streams) streams of τ = \(steps) steps (\(streams * steps + 1) needed); lower train.global_batch or train.seq_len, or use more text")
        }
        self.tokens = tokens
        self.streams = streams
        self.steps = steps
        self.history = history
        length = (tokens.count - 1) / streams
    }

    /// Chunks a training epoch takes: full chunks only.
    public var chunksPerEpoch: Int { length / steps }

    /// Chunks that cover every input, the last possibly shorter (evaluation).
    public var chunksToCover: Int { (length + steps - 1) / steps }

    public func chunkLength(_ chunk: Int) -> Int { min(steps, length - chunk * steps) }

    /// A batch shaped for `sequences` streams and the length of `chunk`.
    public func makeBatch(chunk: Int, sequences: Range<Int>) throws -> Batch {
        let tau = chunkLength(chunk), n = sequences.count
        var batch = Batch(steps: tau, sequences: n, inputs: .init(repeating: 0, count: tau * n),
                          targets: .init(repeating: 0, count: tau * n))
        if history > 0 { batch.history = .init(repeating: -1, count: history * n) }
        try fill(&batch, chunk: chunk, sequences: sequences)
        return batch
    }

    /// Writes chunk `chunk` of streams `sequences` into a batch of that shape, in place. Throws
    /// when a token read is not an id of the vocabulary (`TokenStream.copy`).
    public func fill(_ batch: inout Batch, chunk: Int, sequences: Range<Int>) throws {
        let n = sequences.count, tau = batch.steps, begin = chunk * steps
        precondition(batch.sequences == n && tau == chunkLength(chunk), "batch shape does not match the chunk")
        batch.firstSequence = sequences.lowerBound
        // Each stream's slice, history through the chunk's last target, read in one copy.
        let first = max(0, begin - history)
        let span = begin + tau + 1 - first
        try withUnsafeTemporaryAllocation(of: Int32.self, capacity: span) { t in
            for (i, s) in sequences.enumerated() {
                try tokens.copy((s * length + first)..<(s * length + first + span), to: t.baseAddress!)
                let base = begin - first
                for step in 0..<tau {
                    batch.inputs[step * n + i] = t[base + step]
                    batch.targets[step * n + i] = t[base + step + 1]
                }
                for j in 0..<history {
                    let position = begin - history + j
                    batch.history![j * n + i] = position >= 0 ? t[position - first] : -1
                }
            }
        }
    }
}
