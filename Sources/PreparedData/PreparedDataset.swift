import Checkpoints
import Config
import Files
import Foundation
import TextData

/// A prepared dataset: a directory written once by `rnntrain prepare` and read memory-mapped by
/// training. It holds
///
/// - `vocabulary.json`: the token texts by id, a JSON array of strings (the form a model file's
///   metadata stores); "<mask>" last when prepared for fill-in-the-middle;
/// - `train.tokens`, `validation.tokens`: `TokenFileHeader` then the ids;
/// - `SHA256SUMS`: the three files' SHA-256 in `sha256sum` format, for `sha256sum -c`; the token
///   files' hashes are also the corpus digest (`CorpusDigest`).
public enum PreparedDataset {
    public static let vocabularyName = "vocabulary.json"
    public static let trainName = "train.tokens"
    public static let validationName = "validation.tokens"

    /// Whether `path` names a directory (links followed: the user names it) that holds a
    /// `train.tokens` (of any kind: `open` checks it), i.e. a prepared dataset rather than a
    /// directory of text files (`TextFiles`) or a text file.
    public static func isDataset(_ path: String) -> Bool {
        var info = stat()
        guard !path.isEmpty, stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
        return lstat(URL(fileURLWithPath: path, isDirectory: true).appendingPathComponent(trainName).path, &info) == 0
    }

    /// Opens the dataset at `path` for `data`'s tokenizer and task. Checked: each token file's
    /// header against its size, the vocabulary's SHA-256 against both headers and `SHA256SUMS`
    /// (read for the corpus digest), the tokenizer against the config's, the mask token against
    /// the task; nothing that reads more than the headers, the manifest and the vocabulary, so that
    /// opening takes the same time at any corpus size. Each id is checked against the vocabulary
    /// size when a batch reads it (`MappedTokens.copy`). Not checked: `SHA256SUMS`'s hashes of the
    /// token files (a full hash of every file at every start; `sha256sum -c` does it by hand), and
    /// the config's `val_path`/`val_fraction`/`min_count`, which were applied when the dataset was
    /// prepared.
    public static func open(_ path: String, data: DataConfig) throws -> Corpus {
        let directory = URL(fileURLWithPath: path, isDirectory: true)
        let train = try MappedTokens(path: directory.appendingPathComponent(trainName).path)
        let validation = try MappedTokens(path: directory.appendingPathComponent(validationName).path)
        let vocabularyURL = directory.appendingPathComponent(vocabularyName)
        let bytes = try FileIO.read(vocabularyURL, limit: CheckpointStore.maximumFileBytes, followingLinks: false)
        let hash = SHA256.hash(bytes)
        for tokens in [train, validation] {
            let name = tokens === train ? trainName : validationName
            let source = directory.appendingPathComponent(name).path
            guard tokens.header.vocabularyHash == hash else {
                throw UserError("\(source): prepared with another vocabulary (its header's vocabulary SHA-256 \(SHA256.hex(tokens.header.vocabularyHash).prefix(12))… is not that of \(vocabularyName), \(SHA256.hex(hash).prefix(12))…)")
            }
            guard tokens.header.tokenizer == data.tokenizer else {
                throw UserError("\(source): prepared with the \(tokens.header.tokenizer.rawValue) tokenizer, but data.tokenizer is \(data.tokenizer.rawValue)")
            }
        }
        let digest = try corpusDigest(directory, vocabularyHash: hash)
        let vocabulary = try readVocabulary(bytes, kind: data.tokenizer, count: train.header.vocabularySize,
                                            source: vocabularyURL.path)
        // Each file's ids are checked against its own header's size: both must be the vocabulary's.
        guard validation.header.vocabularySize == vocabulary.count else {
            throw UserError("\(directory.appendingPathComponent(validationName).path): its header says \(validation.header.vocabularySize) tokens, \(vocabularyName) has \(vocabulary.count)")
        }
        let wantsMask = data.task == .fillInTheMiddle
        guard (vocabulary.maskToken != nil) == wantsMask else {
            throw UserError("\(path): prepared for data.task \(wantsMask ? DataTask.lm.rawValue : DataTask.fillInTheMiddle.rawValue) (its vocabulary \(wantsMask ? "lacks" : "has") a mask token), but data.task is \(data.task.rawValue)")
        }
        return Corpus(vocabulary: vocabulary, mappedTrain: train, validation: validation, digest: digest)
    }

    /// The corpus digest from `SHA256SUMS`'s hashes of the token files (`CorpusDigest`); the
    /// manifest must list the three files, the vocabulary with the hash `open` computed.
    private static func corpusDigest(_ directory: URL, vocabularyHash: [UInt8]) throws -> [UInt8] {
        let url = directory.appendingPathComponent(CheckpointStore.manifestName)
        let listed = try CheckpointStore.parseManifest(
            FileIO.read(url, limit: CheckpointStore.maximumManifestBytes, followingLinks: false), source: url.path)
        guard let train = listed[trainName], let validation = listed[validationName], let vocabulary = listed[vocabularyName] else {
            throw UserError("\(url.path): does not list \(trainName), \(validationName) and \(vocabularyName)")
        }
        guard vocabulary == vocabularyHash else {
            throw UserError("\(url.path): lists another \(vocabularyName) (\(SHA256.hex(vocabulary).prefix(12))…, the file hashes to \(SHA256.hex(vocabularyHash).prefix(12))…)")
        }
        return CorpusDigest.combining(train: train, validation: validation)
    }

    /// `vocabulary.json`: exactly `count` strings; a last "<mask>" is the mask token.
    static func readVocabulary(_ bytes: [UInt8], kind: TokenizerKind, count: Int, source: String) throws -> Vocabulary {
        let fail = { (why: String) in UserError("\(source): \(why)") }
        let tokens = try ModelFile.decodeTokens(String(decoding: bytes, as: UTF8.self), count: count, fail: fail)
        guard tokens.count == count else {
            throw fail("\(tokens.count) tokens, but the token files' headers say \(count)")
        }
        let mask = tokens.last == "<mask>" ? Int32(count - 1) : nil
        do {
            return try Vocabulary(kind: kind, tokens: tokens, maskToken: mask)
        } catch let error as UserError {
            throw fail(error.description)
        }
    }

    /// The bytes of `vocabulary.json` for `vocabulary`.
    static func vocabularyFile(_ vocabulary: Vocabulary) -> [UInt8] {
        Array(JSON.array(vocabulary.tokens.map(JSON.string)).text(escapingSlashes: true).utf8)
    }
}
