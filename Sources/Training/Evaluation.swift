import Collectives
import Kernels
import Models
import TextData

/// Loss of a model on held-out tokens, split over the ranks and summed.
public enum Evaluation {
    /// Seed of the fill-in-the-middle masks of every evaluation, so all checkpoints are scored
    /// on the same positions.
    public static let fillSeed: UInt64 = 0

    /// Language-model loss over `tokens` cut into `streams` contiguous streams (a multiple of
    /// the world size), each read with full context: the state carries across chunks of τ.
    /// One stream scores every token but the first with everything before it as context.
    public static func streamLoss(model: Model<Float>, tokens: any TokenStream, streams: Int, steps: Int,
                                  comm: Communicator, source: String) throws -> LossSum {
        precondition(streams % comm.size == 0, "evaluation streams must divide among the ranks")
        let history = model.config.historyTokens
        let batches = try StreamBatches(tokens: tokens, streams: streams, steps: steps, history: history,
                                        source: source, fullChunks: false)
        let n = streams / comm.size
        let mine = (comm.rank * n)..<((comm.rank + 1) * n)
        let state = Buffer<Float>(count: n * model.stateLayout.width)
        var total = LossSum()
        for chunk in 0..<batches.chunksToCover {
            let batch = try batches.makeBatch(chunk: chunk, sequences: mine)
            total += try model.evaluate(batch, initialState: state)
            state.copy(from: model.finalState)
        }
        return try sum(total, comm)
    }

    /// Fill-in-the-middle: masked-token loss and accuracy over every window of τ tokens of
    /// `tokens` in order, masks drawn with `fillSeed`, `perBatch` windows at a time.
    public static func fillLoss(model: Model<Float>, tokens: any TokenStream, steps: Int, maskToken: Int32, rate: Double,
                                perBatch: Int, comm: Communicator, source: String) throws -> LossSum {
        let windows = try WindowBatches(tokens: tokens, globalBatch: 1, steps: steps, seed: fillSeed,
                                        fill: (maskToken, rate), source: source, shifted: false)
        let count = windows.windowCount
        let begin = count * comm.rank / comm.size, end = count * (comm.rank + 1) / comm.size
        var total = LossSum()
        var first = begin
        while first < end {
            let n = min(perBatch, end - first)
            var batch = windows.makeBatch(sequences: 0..<n)
            try windows.fillInOrder(&batch, first: first)
            total += try model.evaluate(batch)
            first += n
        }
        return try sum(total, comm)
    }

    private static func sum(_ local: LossSum, _ comm: Communicator) throws -> LossSum {
        var values = [local.loss, Double(local.count), Double(local.correct)]
        try values.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
        return LossSum(loss: values[0], count: Int(values[1]), correct: Int(values[2]))
    }
}
