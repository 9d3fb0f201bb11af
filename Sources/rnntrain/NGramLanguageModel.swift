import Checkpoints
import Config
import Files
import Foundation
import NGram
import TextData

/// An n-gram model with the vocabulary and config it was estimated with, as `rnntrain ngram`
/// writes them: `model.arpa` (what KenLM and SRILM read), `words.txt` (the ARPA word of every
/// token id, one per line, so ids and names need not be guessed back from the file),
/// `config.yaml` (the resolved config: the tokenizer that turns text into those ids) and
/// `SHA256SUMS` over the three, as a checkpoint has (`sha256sum -c SHA256SUMS` checks it by hand).
struct NGramLanguageModel {
    static let modelName = "model.arpa", wordsName = "words.txt", configName = "config.yaml"

    let model: NGramModel
    let vocabulary: Vocabulary
    let config: TrainingConfig

    init(model: NGramModel, vocabulary: Vocabulary, config: TrainingConfig) {
        self.model = model
        self.vocabulary = vocabulary
        self.config = config
    }

    /// Writes the files into `directory`, each atomically. The old manifest is removed first and
    /// the new one written last, so a write cut short leaves a directory without `SHA256SUMS`,
    /// refused as such, never a mix of old and new files that verifies.
    static func write(_ model: NGramModel, words: [String], config: TrainingConfig, to directory: URL) throws {
        try FileIO.makeDirectories(directory)
        let manifest = directory.appendingPathComponent(CheckpointStore.manifestName)
        try FileIO.removeTree(manifest)
        let files = [configName: Array(config.yaml().utf8), wordsName: Array(words.joined(separator: "\n").appending("\n").utf8),
                     modelName: try model.arpa(words: words)]
        for (name, bytes) in files { try FileIO.writeAtomically(bytes, to: directory.appendingPathComponent(name)) }
        try FileIO.writeAtomically(CheckpointStore.manifest(of: files), to: manifest)
    }

    /// The directory of an n-gram model when `path` is its `model.arpa` or a directory holding
    /// one (a run directory of `rnntrain ngram`); nil otherwise, for a checkpoint.
    static func directory(of path: String) -> URL? {
        let url = URL(fileURLWithPath: path)
        if url.lastPathComponent == modelName { return url.deletingLastPathComponent() }
        let inside = url.appendingPathComponent(modelName)
        return FileManager.default.fileExists(atPath: inside.path) ? url : nil
    }

    /// Reads the files after checking them against `SHA256SUMS` (each file bounded; the ARPA
    /// reader checks the model against the words).
    init(directory: URL) throws {
        let files = try CheckpointStore.read(directory)
        func file(_ name: String) throws -> [UInt8] {
            guard let bytes = files[name] else { throw UserError("\(directory.appendingPathComponent(name).path): missing") }
            return bytes
        }
        let configURL = directory.appendingPathComponent(Self.configName)
        config = try TrainingConfig.parse(yaml: String(decoding: try file(Self.configName), as: UTF8.self), source: configURL.path)
        let wordsURL = directory.appendingPathComponent(Self.wordsName)
        let words = String(decoding: try file(Self.wordsName), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        vocabulary = try Vocabulary(arpaWords: words, kind: config.data.tokenizer)
        guard try vocabulary.arpaWords() == words else {
            throw UserError("\(wordsURL.path): not the words of a \(config.data.tokenizer.rawValue) vocabulary")
        }
        let modelURL = directory.appendingPathComponent(Self.modelName)
        do {
            model = try NGramModel(arpa: try file(Self.modelName), words: words)
        } catch let error as UserError {
            throw UserError("\(modelURL.path): \(error.description)")
        }
    }

    /// The summed natural-log loss of `tokens` and how many tokens it covers, as KenLM scores a
    /// text: word models sentence by sentence (each from `<s>`, its `</s>` predicted and counted),
    /// char and byte models as one stream from `<s>` (nothing after the last token predicted).
    func loss(_ tokens: [Int32]) -> (nats: Double, count: Int) {
        let start = vocabulary.sentenceStart, end = vocabulary.sentenceEnd
        var log10Sum = 0.0, count = 0
        for sentence in vocabulary.sentences(tokens) {
            var stream = [start] + sentence
            if vocabulary.kind == .word { stream.append(end) }
            for i in 1..<stream.count {
                log10Sum += model.log10Probability(of: stream[i], after: stream[max(0, i - model.order + 1)..<i])
                count += 1
            }
        }
        return (-log10Sum * log(10), count)
    }
}
