import Config
import ModelSpec

/// Where training batches come from: carried streams or shuffled windows.
public enum BatchSource: Sendable {
    case stream(StreamBatches)
    case windows(WindowBatches)

    public init(config: TrainingConfig, tokens: any TokenStream, maskToken: Int32?, source: String) throws {
        let t = config.train
        switch config.data.mode {
        case .stream:
            let history = config.model.historyTokens
            self = .stream(try StreamBatches(tokens: tokens, streams: t.globalBatch, steps: t.seqLen,
                                             history: history, source: source))
        case .windows:
            let fill = config.data.task == .fillInTheMiddle ? (maskToken!, config.data.maskRate) : nil
            self = .windows(try WindowBatches(tokens: tokens, globalBatch: t.globalBatch, steps: t.seqLen,
                                              seed: t.seed, fill: fill, source: source))
        }
    }

    public var stepsPerEpoch: Int {
        switch self {
        case .stream(let s): return s.chunksPerEpoch
        case .windows(let w): return w.stepsPerEpoch
        }
    }

    /// Whether hidden states carry from step to step.
    public var carriesState: Bool {
        if case .stream = self { return true }
        return false
    }

    public func makeBatch(sequences: Range<Int>) throws -> Batch {
        switch self {
        case .stream(let s): return try s.makeBatch(chunk: 0, sequences: sequences)
        case .windows(let w): return w.makeBatch(sequences: sequences)
        }
    }

    /// Sequences `sequences` of the global batch of training step `step`; throws on a token that
    /// is not an id of the vocabulary.
    public func fill(_ batch: inout Batch, step: Int, sequences: Range<Int>) throws {
        switch self {
        case .stream(let s): try s.fill(&batch, chunk: step % s.chunksPerEpoch, sequences: sequences)
        case .windows(let w): try w.fill(&batch, step: step, sequences: sequences)
        }
    }
}
