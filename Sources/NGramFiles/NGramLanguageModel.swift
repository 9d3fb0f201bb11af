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
/// A bare ARPA file (another tool's, or one copied out of such a directory) is read too, its
/// vocabulary from its 1-grams (`init(arpaFile:tokenizer:)`).
public struct NGramLanguageModel {
    public static let modelName = "model.arpa", wordsName = "words.txt", configName = "config.yaml"

    public let model: NGramModel
    public let vocabulary: Vocabulary

    public init(model: NGramModel, vocabulary: Vocabulary) {
        self.model = model
        self.vocabulary = vocabulary
    }

    /// Writes the files into `directory`, each atomically. The old manifest is removed first and
    /// the new one written last, so a write cut short leaves a directory without `SHA256SUMS`,
    /// refused as such, never a mix of old and new files that verifies. `model.arpa` is written
    /// and hashed as it is produced, never held whole.
    public static func write(_ model: NGramModel, words: [String], config: TrainingConfig, to directory: URL) throws {
        try FileIO.makeDirectories(directory)
        let manifest = directory.appendingPathComponent(CheckpointStore.manifestName)
        try FileIO.removeTree(manifest)
        let small = [configName: Array(config.yaml().utf8), wordsName: Array(words.joined(separator: "\n").appending("\n").utf8)]
        for (name, bytes) in small { try FileIO.writeAtomically(bytes, to: directory.appendingPathComponent(name)) }
        var arpa = SHA256.Stream()
        try FileIO.writeAtomically(to: directory.appendingPathComponent(modelName)) { write in
            try model.writeARPA(words: words) { piece in
                arpa.update(piece)
                try write(piece)
            }
        }
        try FileIO.writeAtomically(CheckpointStore.manifest(digests: small.mapValues(SHA256.hash).merging([modelName: arpa.digest()]) { $1 }),
                                   to: manifest)
    }

    /// The n-gram model at `path`, nil when it is a network's checkpoint (a directory without
    /// `model.arpa`). `rnntrain ngram`'s directory, or its `model.arpa` (a file of that name
    /// beside `words.txt` or `SHA256SUMS`), is read with its checks; any other file is a bare
    /// ARPA file, read with the tokenizer `tokenizer` or the one its 1-grams imply. `tokenizer`
    /// for anything but a bare file → UserError: the directory records its own.
    public static func open(_ path: String, tokenizer: TokenizerKind?) throws -> NGramLanguageModel? {
        let url = URL(fileURLWithPath: path)
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        var directory: URL? = isDirectory.boolValue ? url : nil
        if !isDirectory.boolValue, url.lastPathComponent == modelName {
            let beside = url.deletingLastPathComponent()
            if [wordsName, CheckpointStore.manifestName].contains(where: { manager.fileExists(atPath: beside.appendingPathComponent($0).path) }) {
                directory = beside
            }
        }
        guard let directory else { return try NGramLanguageModel(arpaFile: path, tokenizer: tokenizer) }
        guard manager.fileExists(atPath: directory.appendingPathComponent(modelName).path) else {
            if tokenizer != nil { throw UserError("--tokenizer: only for a bare ARPA file; \(path) is a checkpoint directory") }
            return nil
        }
        if tokenizer != nil { throw UserError("--tokenizer: only for a bare ARPA file; \(directory.path)/\(configName) gives the tokenizer") }
        return try NGramLanguageModel(directory: directory)
    }

    /// Reads the files after checking them against `SHA256SUMS` (each file bounded; the ARPA
    /// reader checks the model against the words).
    public init(directory: URL) throws {
        let files = try CheckpointStore.read(directory)
        func file(_ name: String) throws -> [UInt8] {
            guard let bytes = files[name] else { throw UserError("\(directory.appendingPathComponent(name).path): missing") }
            return bytes
        }
        let configURL = directory.appendingPathComponent(Self.configName)
        let config = try Checkpoint.parseConfig(try file(Self.configName), source: configURL.path)
        let wordsURL = directory.appendingPathComponent(Self.wordsName)
        let words = String(decoding: try file(Self.wordsName), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        do {
            vocabulary = try Vocabulary(arpaWords: words, kind: config.data.tokenizer)
            guard try vocabulary.arpaWords() == words else {
                throw UserError("not the words of a \(config.data.tokenizer.rawValue) vocabulary")
            }
            // What the ARPA reader refuses in the words, said here, where the file is words.txt.
            _ = try ARPAVocabulary(words, vocabulary: ARPAVocabulary.vocabulary(of: words))
        } catch let error as UserError {
            throw UserError("\(wordsURL.path): \(error.description)")
        }
        let modelURL = directory.appendingPathComponent(Self.modelName)
        do {
            model = try NGramModel(arpa: try file(Self.modelName), words: words)
        } catch let error as UserError {
            throw UserError("\(modelURL.path): \(error.description)")
        }
    }

    /// Reads a bare ARPA file (bounded as a checkpoint file is), whose vocabulary is its 1-grams'
    /// words (`Vocabulary(arpaUnigrams:kind:)`), tokenized by `tokenizer` or the tokenizer they
    /// imply. There is no manifest to check: the file is the user's own, as for KenLM's `query`;
    /// the reader's checks are the same. Every error names the file.
    public init(arpaFile path: String, tokenizer: TokenizerKind?) throws {
        let bytes = try FileIO.readNamed(path, kind: "ARPA file", limit: CheckpointStore.maximumFileBytes)
        do {
            let unigrams = try NGramModel.arpaUnigrams(bytes)
            vocabulary = try Vocabulary(arpaUnigrams: unigrams, kind: tokenizer ?? Vocabulary.arpaTokenizer(of: unigrams))
            model = try NGramModel(arpa: bytes, words: try vocabulary.arpaWords())
        } catch let error as UserError {
            throw UserError("\(path): \(error.description)")
        }
    }

    /// The summed natural-log loss of `tokens` and how many tokens it covers, as KenLM scores a
    /// text: word models sentence by sentence (each from `<s>`, its `</s>` predicted and counted),
    /// char and byte models as one stream from `<s>` (nothing after the last token predicted).
    public func loss(_ tokens: [Int32]) -> (nats: Double, count: Int) {
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
