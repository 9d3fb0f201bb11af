import ArgumentParser
import Collectives
import Config
import Files
import Foundation
import NGram
import TextData
import Training

/// `rnntrain ngram`: counts every n-gram up to `ngram.order` of the training text, estimates an
/// interpolated modified Kneser–Ney model and writes it into the run directory
/// (`NGramLanguageModel`); prints what it stores and its validation loss as one JSON object.
///
/// Under mpirun every rank counts its shard of the training stream (the n-grams that start in
/// it, reading order − 1 tokens into the next shard), the counts are merged over a binary tree
/// (`Communicator.treeReduce`), and rank 0 estimates, writes and reports. The merge is exact, so
/// the model is the same at every world size.
struct NGramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Estimate an interpolated modified Kneser–Ney n-gram model of the training text; writes model.arpa.")

    @Option(help: "The YAML config (its data section and ngram.order).")
    var config: String

    @Option(name: .customLong("set"), parsing: .unconditionalSingleValue, help: "Override one option, section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Run directory (default: runs/<config name>-ngram).")
    var runDir: String?

    @OptionGroup var world: WorldOptions

    func validate() throws {
        // URL(fileURLWithPath: "") is the current directory: an empty path would write there.
        if runDir?.isEmpty == true { throw ValidationError("--run-dir is empty; name a directory") }
    }

    func run() throws {
        let started = Date()
        let name = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        let directory = URL(fileURLWithPath: runDir ?? "runs/\(name)-ngram")
        try world.run { comm in
            let settings = try agree(comm) { try TrainingConfig.load(path: config, overrides: overrides) }
            // Before the corpus is read: a rank that stops while reading it is caught too.
            comm.timeout = settings.train.stepTimeout
            let text = try agree(comm) { try load(settings) }
            let count = text.stream.count
            let shard = count * comm.rank / comm.size..<count * (comm.rank + 1) / comm.size
            let mine = try agree(comm) {
                try NGramCounts(stream: text.stream[...], startingAt: shard, order: settings.ngram.order, vocabulary: text.vocabulary)
            }
            let merged = try comm.treeReduce(mine, encode: { $0.serialized() }, decode: { try NGramCounts(serialized: $0) },
                                             combine: { try $0.merged(with: $1) })
            // Only rank 0 estimates and writes; the others wait for its outcome, so a full disk
            // there ends every rank with its message and status 2.
            try agree(comm) {
                guard let merged else { return }
                try estimateAndWrite(merged, settings: settings, text: text, directory: directory, ranks: comm.size, started: started)
            }
        }
    }

    /// The corpus with its ARPA words and their n-gram vocabulary, and its training text as the
    /// stream of `<s> … </s>` sentences that is counted.
    private struct Text {
        let corpus: Corpus
        let words: [String]
        let vocabulary: NGramVocabulary
        let stream: [Int32]
    }

    /// Reads the corpus; one too short for the order is refused.
    private func load(_ settings: TrainingConfig) throws -> Text {
        guard settings.data.task == .lm else { throw UserError("ngram: data.task must be lm, got \(settings.data.task.rawValue)") }
        let d = settings.data
        let corpus = try Corpus.load(path: d.path, valPath: d.valPath, valFraction: d.valFraction, tokenizer: d.tokenizer,
                                     minCount: d.minCount, withMask: false)
        let sentences = corpus.vocabulary.sentences(try corpus.train.all)
        let order = settings.ngram.order
        guard sentences.reduce(0, { $0 + $1.count }) >= order else {
            throw UserError("\(d.path): \(corpus.train.count) training tokens are fewer than ngram.order \(order)")
        }
        let words = try corpus.vocabulary.arpaWords()
        let vocabulary = try ARPAVocabulary.vocabulary(of: words)
        return Text(corpus: corpus, words: words, vocabulary: vocabulary, stream: try NGramCounts.stream(of: sentences, vocabulary: vocabulary))
    }

    private func estimateAndWrite(_ counts: NGramCounts, settings: TrainingConfig, text: Text, directory: URL,
                                  ranks: Int, started: Date) throws {
        // lmplz refuses an order whose discounts fall outside their range unless told to fall back;
        // a character model has so few distinct 1-grams that order 1 often does. The second
        // estimate runs only then.
        let model: NGramModel
        do {
            model = try KneserNey.estimate(counts: counts)
        } catch let error as UserError {
            let fallback = KneserNey.Discounts.lmplzFallback
            model = try KneserNey.estimate(counts: counts, fallback: fallback)
            warn("ngram: \(error.description); such orders use lmplz's fallback discounts \(fallback.one) \(fallback.two) \(fallback.threePlus)")
        }
        try NGramLanguageModel.write(model, words: text.words, config: settings, to: directory)
        let seconds = Date().timeIntervalSince(started)

        let lm = NGramLanguageModel(model: model, vocabulary: text.corpus.vocabulary)
        let validation = lm.loss(try text.corpus.validation.all)
        let storage = model.storage
        let order = counts.order, size = counts.vocabulary.size
        var fields: [(String, JSON)] = [
            ("order", .number(Double(order))), ("vocabulary", .number(Double(size))),
            ("ngrams", .array(storage.ngrams.map { .number(Double($0)) })),
            ("stored_bytes", .number(Double(storage.probabilityBytes + storage.backoffBytes + storage.indexBytes))),
            // The notes' table: a probability for every one of |V|^n contexts-and-words, 4 bytes each.
            ("table_entries", .number(pow(Double(size - 1), Double(order)))),
            ("seconds", .number(seconds)), ("ranks", .number(Double(ranks))),
            ("model", .string(directory.appendingPathComponent(NGramLanguageModel.modelName).path)),
        ]
        if validation.count > 0 {
            let loss = validation.nats / Double(validation.count)
            fields += [("val_loss", .number(loss)), ("val_bits_per_token", .number(loss / log(2))), ("val_tokens", .number(Double(validation.count)))]
        }
        try StandardOutput.line(JSON.object(fields).text(.spaced))
    }
}
