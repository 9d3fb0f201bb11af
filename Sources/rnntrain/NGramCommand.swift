import ArgumentParser
import Clock
import Collectives
import Config
import Files
import Foundation
import NGram
import NGramFiles
import PreparedData
import TextData
import Training

/// `rnntrain ngram`: counts every n-gram up to `ngram.order` of the training text, estimates an
/// interpolated modified Kneser–Ney model and writes it into the run directory
/// (`NGramLanguageModel`); prints what it stores and its validation loss as one JSON object.
///
/// The training tokens come from a text or, memory-mapped, from a prepared dataset, and are
/// counted a piece at a time (`SentenceStream`) within `ngram.memory`, spilling sorted runs to
/// RUN_DIR/tmp (`NGramCounter`); the estimate then holds every distinct n-gram in memory.
///
/// Under mpirun every rank counts its shard of the training tokens (the n-grams that start in
/// it, reading order − 1 tokens into the next shard), the counts are merged over a binary tree
/// (`Communicator.treeReduce`), and rank 0 estimates, writes and reports. The merge is exact, so
/// the model is the same at every world size.
struct NGramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Estimate an interpolated modified Kneser–Ney n-gram model of the training text; writes model.arpa.")

    @OptionGroup var configFile: ConfigOptions

    @Option(help: "Run directory (default: runs/<config name>-ngram).")
    var runDir: String?

    @OptionGroup var world: WorldOptions

    func validate() throws {
        // URL(fileURLWithPath: "") is the current directory: an empty path would write there.
        if runDir?.isEmpty == true { throw ValidationError("--run-dir is empty; name a directory") }
    }

    func run() throws {
        let started = ContinuousClock.now
        let name = URL(fileURLWithPath: configFile.config).deletingPathExtension().lastPathComponent
        let directory = URL(fileURLWithPath: runDir ?? "runs/\(name)-ngram")
        try world.run { comm in
            let settings = try configFile.agreedSettings(comm)
            let text = try agree(comm) { try load(settings) }
            let count = text.sentences.count
            let shard = count * comm.rank / comm.size..<count * (comm.rank + 1) / comm.size
            let spills = directory.appendingPathComponent("tmp").appendingPathComponent("ngram-\(comm.rank)-\(getpid())")
            let (mine, counting) = try agree(comm) {
                try countShard(text.sentences, shard, settings: settings.ngram, spillDirectory: spills)
            }
            let countings = try comm.allgather(counting)
            let merged = try comm.treeReduce(mine, encode: { $0.serialized() }, decode: { try NGramCounts(serialized: $0) },
                                             combine: { try $0.merged(with: $1) })
            // Only rank 0 estimates and writes; the others wait for its outcome, so a full disk
            // there ends every rank with its message and status 2.
            try agree(comm) {
                guard let merged else { return }
                try estimateAndWrite(merged, settings: settings, text: text, directory: directory, countings: countings,
                                     started: started)
            }
        }
    }

    /// The corpus with its ARPA words and their n-gram vocabulary, and its training tokens as
    /// the `<s> … </s>` sentences that are counted.
    private struct Text {
        let corpus: Corpus
        let words: [String]
        let vocabulary: NGramVocabulary
        let sentences: SentenceStream
    }

    /// Reads the corpus: a prepared dataset (a directory) mapped, a text tokenized. One too short
    /// for the order is refused.
    private func load(_ settings: TrainingConfig) throws -> Text {
        guard settings.data.task == .lm else { throw UserError("ngram: data.task must be lm, got \(settings.data.task.rawValue)") }
        let d = settings.data
        let corpus = PreparedDataset.isDataset(d.path)
            ? try PreparedDataset.open(d.path, data: d)
            : try Corpus.load(path: d.path, valPath: d.valPath, valFraction: d.valFraction, tokenizer: d.tokenizer,
                              minCount: d.minCount, withMask: false)
        let words = try corpus.vocabulary.arpaWords()
        let vocabulary = try ARPAVocabulary.vocabulary(of: words)
        let train = corpus.train
        let sentences: SentenceStream
        if let mapped = train as? MappedTokens {
            // Read, not mapped: one pass over all of it would keep every page resident.
            let file = try TokenFileReader(mapped)
            sentences = SentenceStream(count: train.count, vocabulary: vocabulary) { try file.read($0, to: $1) }
        } else {
            sentences = SentenceStream(count: train.count, vocabulary: vocabulary) { try train.copy($0, to: $1) }
        }
        let order = settings.ngram.order
        guard try sentences.hasWords(atLeast: order) else {
            throw UserError("\(d.path): \(train.count) training tokens are fewer than ngram.order \(order)")
        }
        return Text(corpus: corpus, words: words, vocabulary: vocabulary, sentences: sentences)
    }

    /// What counting a shard took, for the report.
    private struct Counting: BitwiseCopyable {
        /// Runs written to disk.
        var spilledRuns: Int64
        /// This process's peak resident memory, bytes, before the final merge (which builds every
        /// distinct n-gram of the shard at once, beyond any budget: `NGramCounter`).
        var peakBytes: Int64
    }

    /// Counts the n-grams that start in source tokens `shard`, a piece at a time within
    /// `ngram.memory` (one piece without a limit).
    private func countShard(_ sentences: SentenceStream, _ shard: Range<Int>, settings: NGramConfig,
                            spillDirectory: URL) throws -> (NGramCounts, Counting) {
        let counter = try NGramCounter(order: settings.order, vocabulary: sentences.vocabulary,
                                       memory: settings.memory == 0 ? nil : settings.memory, spillDirectory: spillDirectory)
        var start = shard.lowerBound
        repeat {
            let piece = try sentences.piece(from: start, to: shard.upperBound, owning: counter.piecePositions,
                                            lookahead: settings.order - 1)
            try counter.add(piece.tokens, owned: piece.owned)
            start = piece.end
        } while start < shard.upperBound
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let counting = Counting(spilledRuns: Int64(counter.spilledRuns), peakBytes: Int64(usage.ru_maxrss) * 1024)
        return (try counter.finish(), counting)
    }

    private func estimateAndWrite(_ counts: NGramCounts, settings: TrainingConfig, text: Text, directory: URL,
                                  countings: [Counting], started: Instant) throws {
        let budget = settings.ngram.memory
        if budget > 0, counts.bytes > budget {
            let total = (1...counts.order).reduce(0) { $0 + counts.count(ofOrder: $1) }
            warn("ngram: the text's \(total) distinct n-grams take \(counts.bytes) bytes, more than ngram.memory \(budget): "
                 + "the counting kept within it, but the estimate holds them all in memory")
        }
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
        let seconds = started.secondsAgo

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
            ("seconds", .number(seconds)), ("ranks", .number(Double(countings.count))),
            ("spilled_runs", .number(Double(countings.reduce(0) { $0 + $1.spilledRuns }))),
            ("counting_peak_rss_bytes", .number(Double(countings.map(\.peakBytes).max() ?? 0))),
            ("model", .string(directory.appendingPathComponent(NGramLanguageModel.modelName).path)),
        ]
        if validation.count > 0 {
            let loss = validation.nats / Double(validation.count)
            fields += [("val_loss", .number(loss)), ("val_bits_per_token", .number(loss / log(2))), ("val_tokens", .number(Double(validation.count)))]
        }
        try StandardOutput.line(JSON.object(fields).text(.spaced))
    }
}
