import ArgumentParser
import Checkpoints
import Collectives
import Config
import Files
import Foundation
import Kernels
import Models
import NGramFiles
import PreparedData
import TextData
import Training

/// `rnntrain eval`: loss of a checkpoint on a text file, as one JSON object.
///
/// The output is always valid JSON. A checkpoint with a non-finite weight is refused before
/// anything is computed (`FiniteWeights`). Finite weights can still overflow (a NaN loss from
/// infinite logits, a perplexity beyond the largest Double): such a number is printed as null, which JSON has for
/// it, and a line on stderr names it and the command exits 2, since it is not a measurement. An
/// n-gram model's loss is a sum of the file's log10 probabilities and backoffs, finite each but
/// not bounded (−99, KenLM's "never", costs 228 nats; −1e300 overflows): the same there.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a text file; prints loss, bits_per_token, perplexity, tokens, precision as JSON.")

    @Option(help: "Checkpoint directory, or an n-gram model: the run directory of rnntrain ngram, its model.arpa, or any ARPA file.")
    var checkpoint: String

    @Option(help: "Text to evaluate on (a file, a directory of files or a glob, joined as data.path is), or a prepared dataset (its validation tokens, mapped).")
    var data: String

    @Option(help: "Reset a recurrent model's state to zero every K tokens (context 1 to K), to measure how much past it uses; default: never.")
    var resetEvery: Int?

    @OptionGroup var precision: PrecisionOption

    @OptionGroup var tokenizer: TokenizerOption

    func validate() throws {
        if let k = resetEvery, k < 1 { throw ValidationError("--reset-every must be at least 1 token, got \(k)") }
    }

    func run() throws {
        if let lm = try NGramLanguageModel.open(checkpoint, tokenizer: tokenizer.tokenizer) {
            if resetEvery != nil { throw UserError("\(checkpoint): --reset-every is for recurrent models; an n-gram model's context is its order") }
            return try evaluate(lm)
        }
        let ckpt = try Checkpoint.load(checkpoint, precision: precision.precision)
        if resetEvery != nil, ckpt.config.model.isWindowedMLP || ckpt.config.data.task == .fillInTheMiddle {
            throw UserError("\(checkpoint): --reset-every is for recurrent language models; \(ckpt.config.model.isWindowedMLP ? "a windowed MLP's context is model.context" : "this one fills in the middle")")
        }
        try FiniteWeights.require(ckpt)
        if ckpt.model.productEngine == BF16Products.Engine.emulated.rawValue { warn(BF16.emulationNotice) }
        let tokens = try self.tokens(vocabulary: ckpt.vocabulary, data: ckpt.config.data)
        let comm = SingleProcessCommunicator()
        let tau = ckpt.config.train.seqLen
        var fields: [(String, JSON)]
        if ckpt.config.data.task == .fillInTheMiddle {
            let sum = try Evaluation.fillLoss(model: ckpt.model, tokens: tokens, steps: tau, maskToken: ckpt.vocabulary.maskToken!,
                                              rate: ckpt.config.data.maskRate, perBatch: 32, comm: comm, source: data)
            fields = summary(sum) + [("accuracy", .number(Double(sum.correct) / Double(max(1, sum.count))))]
        } else if let k = resetEvery {
            let sum = try Evaluation.resetLoss(model: ckpt.model, tokens: tokens, every: k, perBatch: min(1024, max(1, 65_536 / k)), comm: comm)
            fields = summary(sum) + [("reset_every", .number(Double(k)))]
        } else {
            // Long chunks: the state carries across them either way, and each costs a pass over W_hh.
            let sum = try Evaluation.streamLoss(model: ckpt.model, tokens: tokens, streams: 1, steps: max(tau, 1000),
                                                comm: comm, source: data)
            fields = summary(sum)
        }
        // Which precision computed these numbers, since it may differ from the training run's.
        fields.append(("precision", .string(ckpt.model.precision.rawValue)))
        try report(fields, notFinite: "the model's outputs overflow on this text")
    }

    /// The text's tokens in `vocabulary`, or a prepared dataset's validation tokens, which must
    /// have been prepared with the checkpoint's vocabulary (ids mean nothing in another).
    private func tokens(vocabulary: Vocabulary, data settings: DataConfig) throws -> any TokenStream {
        if PreparedDataset.isDataset(data) {
            let corpus = try PreparedDataset.open(data, data: settings)
            guard corpus.vocabulary == vocabulary else {
                throw UserError("\(data): prepared with another vocabulary than the checkpoint's (\(corpus.vocabulary.count) tokens, the checkpoint has \(vocabulary.count))")
            }
            return corpus.validation
        }
        let bytes = try TextFiles.list(data).read()
        let (tokens, unknown) = try vocabulary.encode(bytes, source: data)
        if unknown > 0 { warn("\(data): \(unknown) tokens not in the vocabulary were skipped or mapped to <unk>") }
        return tokens
    }

    /// An n-gram model, scored as KenLM scores the text.
    private func evaluate(_ lm: NGramLanguageModel) throws {
        let bytes = try TextFiles.list(data).read()
        let (tokens, unknown) = try lm.vocabulary.encode(bytes, source: data)
        if unknown > 0 { warn("\(data): \(unknown) tokens not in the vocabulary were skipped or mapped to <unk>") }
        let (nats, count) = lm.loss(tokens)
        try report(summary(loss: nats, count: count) + [("model", .string("ngram order \(lm.model.order)"))],
                   notFinite: "the model's log10 probabilities and backoffs on this text sum beyond a Double")
    }

    private func summary(_ sum: LossSum) -> [(String, JSON)] { summary(loss: sum.loss, count: sum.count) }

    private func summary(loss total: Double, count: Int) -> [(String, JSON)] {
        let loss = total / Double(max(1, count))
        return [("loss", .number(loss)), ("bits_per_token", .number(loss / log(2))), ("perplexity", .number(exp(loss))),
                ("tokens", .number(Double(count)))]
    }

    /// Prints `fields` as one JSON line; then, when a number among them is not finite (which the
    /// JSON writer prints as null), one line naming them and `why`, status 2.
    private func report(_ fields: [(String, JSON)], notFinite why: String) throws {
        try StandardOutput.line(JSON.object(fields).text(.spaced))
        let overflowed = fields.compactMap { key, value in if case .null = value { key } else { nil } }
        if !overflowed.isEmpty {
            throw UserError("\(data): \(overflowed.joined(separator: ", ")) not finite (printed as null): \(why)")
        }
    }
}
