import Collectives
import Kernels
import ModelSpec
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

    /// Language-model loss over `tokens` with the state reset to zero every `k` tokens: the
    /// prediction of token j·k + i + 1 sees tokens j·k … j·k + i, so i + 1 tokens of context (1 to k,
    /// k/2 + 1/2 on average). Every token but the first is scored once; the last block may be
    /// shorter. Blocks go `perBatch` at a time, split over the ranks. For a recurrent model only: a
    /// windowed MLP has no state to reset.
    public static func resetLoss(model: Model<Float>, tokens: any TokenStream, every k: Int, perBatch: Int,
                                 comm: Communicator) throws -> LossSum {
        precondition(k >= 1 && perBatch >= 1 && model.config.historyTokens == 0, "reset blocks need a recurrent model")
        let predicted = max(0, tokens.count - 1)
        let blocks = (predicted + k - 1) / k
        let begin = blocks * comm.rank / comm.size, end = blocks * (comm.rank + 1) / comm.size
        var total = LossSum()
        var first = begin
        var window = [Int32](repeating: 0, count: k + 1)
        while first < end {
            // Blocks of k first, then the short last one on its own.
            let n = min(perBatch, end - first, first + 1 == blocks ? 1 : blocks - 1 - first)
            let steps = min(k, predicted - first * k)
            var batch = Batch(steps: steps, sequences: n, inputs: .init(repeating: 0, count: steps * n),
                              targets: .init(repeating: 0, count: steps * n))
            for i in 0..<n {
                let start = (first + i) * k
                try window.withUnsafeMutableBufferPointer { try tokens.copy(start..<(start + steps + 1), to: $0.baseAddress!) }
                for t in 0..<steps {
                    batch.inputs[t * n + i] = window[t]
                    batch.targets[t * n + i] = window[t + 1]
                }
            }
            total += try model.evaluate(batch)
            first += n
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
