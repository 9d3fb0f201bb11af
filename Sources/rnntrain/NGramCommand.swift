import ArgumentParser
import Config
import Files
import Foundation
import NGram
import TextData

/// `rnntrain ngram`: counts every n-gram up to `ngram.order` of the training text, estimates an
/// interpolated modified Kneser–Ney model and writes it into the run directory
/// (`NGramLanguageModel`); prints what it stores and its validation loss as one JSON object.
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

    func run() throws {
        let started = Date()
        let settings = try TrainingConfig.load(path: config, overrides: overrides)
        guard settings.data.task == .lm else { throw UserError("ngram: data.task must be lm, got \(settings.data.task.rawValue)") }
        let d = settings.data
        let corpus = try Corpus.load(path: d.path, valPath: d.valPath, valFraction: d.valFraction, tokenizer: d.tokenizer,
                                     minCount: d.minCount, withMask: false)
        let words = try corpus.vocabulary.arpaWords()
        let vocabulary = try ARPAVocabulary.vocabulary(of: words)
        let order = settings.ngram.order
        let sentences = corpus.vocabulary.sentences(corpus.train)
        guard sentences.reduce(0, { $0 + $1.count }) >= order else {
            throw UserError("\(d.path): \(corpus.train.count) training tokens are fewer than ngram.order \(order)")
        }
        let counts = try NGramCounts(sentences: sentences, order: order, vocabulary: vocabulary)
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
        let name = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        let directory = URL(fileURLWithPath: runDir ?? "runs/\(name)-ngram")
        try NGramLanguageModel.write(model, words: words, config: settings, to: directory)
        let seconds = Date().timeIntervalSince(started)

        let lm = NGramLanguageModel(model: model, vocabulary: corpus.vocabulary, config: settings)
        let validation = lm.loss(corpus.validation)
        let storage = model.storage
        var fields: [(String, JSON)] = [
            ("order", .number(Double(order))), ("vocabulary", .number(Double(vocabulary.size))),
            ("ngrams", .array(storage.ngrams.map { .number(Double($0)) })),
            ("stored_bytes", .number(Double(storage.probabilityBytes + storage.backoffBytes + storage.indexBytes))),
            // The notes' table: a probability for every one of |V|^n contexts-and-words, 4 bytes each.
            ("table_entries", .number(pow(Double(vocabulary.size - 1), Double(order)))),
            ("seconds", .number(seconds)), ("model", .string(directory.appendingPathComponent(NGramLanguageModel.modelName).path)),
        ]
        if validation.count > 0 {
            let loss = validation.nats / Double(validation.count)
            fields += [("val_loss", .number(loss)), ("val_bits_per_token", .number(loss / log(2))), ("val_tokens", .number(Double(validation.count)))]
        }
        try StandardOutput.line(JSON.object(fields).text(.spaced))
    }
}
