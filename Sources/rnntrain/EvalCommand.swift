import ArgumentParser
import Checkpoints
import Collectives
import Files
import Foundation
import Kernels
import Models
import Training

/// `rnntrain eval`: loss of a checkpoint on a text file, as one JSON object.
///
/// The output is always valid JSON. A checkpoint with a non-finite weight is refused before
/// anything is computed (`FiniteWeights`). Finite weights can still overflow (a NaN loss from
/// infinite logits, a perplexity beyond the largest Double): such a number is printed as null, which JSON has for
/// it, and a line on stderr names it and the command exits 2, since it is not a measurement.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a text file; prints loss, bits_per_token, perplexity, tokens, precision as JSON.")

    @Option(help: "Checkpoint directory, or an n-gram model: its model.arpa or the run directory of rnntrain ngram.")
    var checkpoint: String

    @Option(help: "Text file to evaluate on.")
    var data: String

    @OptionGroup var precision: PrecisionOption

    func run() throws {
        if let directory = NGramLanguageModel.directory(of: checkpoint) { return try evaluateNGram(in: directory) }
        let ckpt = try Checkpoint.load(checkpoint, precision: precision.precision)
        try FiniteWeights.require(ckpt)
        if ckpt.model.productEngine == BF16Products.Engine.emulated.rawValue { warn(BF16.emulationNotice) }
        let bytes = try FileIO.readNamed(data, kind: "text file")
        let (tokens, unknown) = try ckpt.vocabulary.encode(bytes, source: data)
        if unknown > 0 { warn("\(data): \(unknown) tokens not in the vocabulary were skipped or mapped to <unk>") }
        let comm = SingleProcessCommunicator()
        let tau = ckpt.config.train.seqLen
        var fields: [(String, JSON)]
        if ckpt.config.data.task == .fillInTheMiddle {
            let sum = try Evaluation.fillLoss(model: ckpt.model, tokens: tokens, steps: tau, maskToken: ckpt.vocabulary.maskToken!,
                                              rate: ckpt.config.data.maskRate, perBatch: 32, comm: comm, source: data)
            fields = summary(sum) + [("accuracy", .number(Double(sum.correct) / Double(max(1, sum.count))))]
        } else {
            // Long chunks: the state carries across them either way, and each costs a pass over W_hh.
            let sum = try Evaluation.streamLoss(model: ckpt.model, tokens: tokens, streams: 1, steps: max(tau, 1000),
                                                comm: comm, source: data)
            fields = summary(sum)
        }
        // Which precision computed these numbers, since it may differ from the training run's.
        fields.append(("precision", .string(ckpt.model.precision.rawValue)))
        try StandardOutput.line(JSON.object(fields).text(.spaced))
        let overflowed = fields.compactMap { key, value in if case .null = value { key } else { nil } }
        if !overflowed.isEmpty {
            throw UserError("\(data): \(overflowed.joined(separator: ", ")) not finite (printed as null): the model's outputs overflow on this text")
        }
    }

    /// An n-gram model (`rnntrain ngram`'s `model.arpa`), scored as KenLM scores the text.
    private func evaluateNGram(in directory: URL) throws {
        let lm = try NGramLanguageModel(directory: directory)
        let bytes = try FileIO.readNamed(data, kind: "text file")
        let (tokens, unknown) = try lm.vocabulary.encode(bytes, source: data)
        if unknown > 0 { warn("\(data): \(unknown) tokens not in the vocabulary were skipped or mapped to <unk>") }
        let (nats, count) = lm.loss(tokens)
        let loss = nats / Double(max(1, count))
        try StandardOutput.line(JSON.object([("loss", .number(loss)), ("bits_per_token", .number(loss / log(2))),
                                             ("perplexity", .number(exp(loss))), ("tokens", .number(Double(count))),
                                             ("model", .string("ngram order \(lm.model.order)"))]).text(.spaced))
    }

    private func summary(_ sum: LossSum) -> [(String, JSON)] {
        let loss = sum.loss / Double(max(1, sum.count))
        return [("loss", .number(loss)), ("bits_per_token", .number(loss / log(2))), ("perplexity", .number(exp(loss))),
                ("tokens", .number(sum.count))]
    }
}
