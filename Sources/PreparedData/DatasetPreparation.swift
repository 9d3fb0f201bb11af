import Checkpoints
import Config
import Crypto
import Dispatch
import Files
import Foundation
import Glibc
import TextData

/// `rnntrain prepare`: tokenizes a corpus once into a `PreparedDataset`, in bounded memory.
///
/// Two passes over the text, a few megabytes at a time: the first gathers the vocabulary from
/// the training part, the second encodes the training part and the validation text into token
/// files. The validation split is the one `Corpus.load` makes (`Corpus.splitPoint`, which reads
/// only the bytes around the split), and the vocabulary is built by the same code, so the
/// tokens are those `train` would make from the text, id for id. A third, sequential pass reads
/// the token files back for `SHA256SUMS`.
///
/// The dataset is built in a temporary sibling directory ".tmp-<name>-<pid>", every file synced,
/// and renamed to `out` at the end, so `out` never names a half-written dataset. `out` must not
/// exist: an existing directory is not replaced (it might be anything), and a link, device or
/// FIFO there is refused.
public enum DatasetPreparation {
    public struct Summary {
        public let textBytes: Int
        public let trainTokens: Int
        public let validationTokens: Int
        public let vocabularySize: Int
        public let width: Int
        public let seconds: Double
    }

    /// `pieceBytes`: how much text is read at a time (small in tests, to cut scalars at every offset).
    public static func prepare(data: DataConfig, withMask: Bool, out: URL,
                               pieceBytes: Int = TextChunks.pieceBytes) throws -> Summary {
        let started = DispatchTime.now().uptimeNanoseconds
        try Corpus.requirePath(data.path)
        try refuseExisting(out)
        let text = try TextChunks(path: data.path)
        guard text.size > 0 else { throw UserError("\(data.path): file is empty") }
        let validation: (text: TextChunks, range: Range<Int>, source: String)
        let trainEnd: Int
        if !data.valPath.isEmpty {
            let valText = try TextChunks(path: data.valPath)
            guard valText.size > 0 else { throw UserError("\(data.valPath): file is empty") }
            trainEnd = text.size
            validation = (valText, 0..<valText.size, data.valPath)
        } else {
            guard data.valFraction >= 0, data.valFraction < 1 else {
                throw UserError("validation fraction \(data.valFraction) must be in [0, 1)")
            }
            var readFailure: Error?
            let split = Corpus.splitPoint(count: text.size, valFraction: data.valFraction, tokenizer: data.tokenizer) { i in
                do { return try text.byte(at: i) } catch {
                    readFailure = error
                    return 0
                }
            }
            if let readFailure { throw readFailure }
            guard split > 0 else {
                throw UserError("\(data.path): too small to hold out \(data.valFraction) of it for validation")
            }
            trainEnd = split
            validation = (text, split..<text.size, "\(data.path) (validation part from byte \(split))")
        }
        let cut: TextChunks.Cut = data.tokenizer == .char ? .scalar : data.tokenizer == .word ? .word : .anywhere
        let vocabulary: Vocabulary
        switch data.tokenizer {
        case .char:
            var scalars = ScalarSet()
            try text.forEachPiece(0..<trainEnd, cut: cut, pieceBytes: pieceBytes) { piece, offset, _ in
                try scalars.add(piece, source: data.path, offset: offset)
            }
            vocabulary = try scalars.vocabulary(source: data.path, withMask: withMask)
        case .word:
            var counts = WordCounts()
            try text.forEachPiece(0..<trainEnd, cut: cut, pieceBytes: pieceBytes) { piece, _, _ in counts.add(piece) }
            vocabulary = try counts.vocabulary(source: data.path, minCount: data.minCount, withMask: withMask)
        case .byte:
            vocabulary = try Vocabulary.build(kind: .byte, text: [], source: data.path, minCount: data.minCount,
                                              withMask: withMask)
        }
        let vocabularyBytes = PreparedDataset.vocabularyFile(vocabulary)
        let width = TokenFileHeader.width(forVocabularySize: vocabulary.count)

        let directory = out.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".tmp-\(out.lastPathComponent)-\(getpid())")
        try FileIO.removeTree(temporary)
        guard mkdir(temporary.path, 0o755) == 0 else { throw FileIO.osError(temporary.path) }
        do {
            var digest = Crypto.SHA256()
            let train = try TokenFileWriter(path: temporary.appendingPathComponent(PreparedDataset.trainName).path, width: width)
            try text.forEachPiece(0..<trainEnd, cut: cut, pieceBytes: pieceBytes) { piece, offset, final in
                try train.append(vocabulary.encode(piece, source: data.path, offset: offset, final: final).tokens, digest: &digest)
            }
            let held = try TokenFileWriter(path: temporary.appendingPathComponent(PreparedDataset.validationName).path, width: width)
            try validation.text.forEachPiece(validation.range, cut: cut, pieceBytes: pieceBytes) { piece, offset, final in
                try held.append(vocabulary.encode(piece, source: validation.source, offset: offset, final: final).tokens,
                                digest: &digest)
            }
            let corpusDigest = Array(digest.finalize())
            let vocabularyHash = SHA256.hash(vocabularyBytes)
            for writer in [train, held] {
                try writer.finish(TokenFileHeader(width: width, count: writer.count, vocabularySize: vocabulary.count,
                                                  tokenizer: vocabulary.kind, vocabularyHash: vocabularyHash,
                                                  corpusDigest: corpusDigest))
            }
            try FileIO.writeSynced(vocabularyBytes, to: temporary.appendingPathComponent(PreparedDataset.vocabularyName))
            var sums = [PreparedDataset.vocabularyName: vocabularyHash]
            for name in [PreparedDataset.trainName, PreparedDataset.validationName] {
                sums[name] = try fileHash(temporary.appendingPathComponent(name).path)
            }
            let manifest = sums.keys.sorted().map { SHA256.hex(sums[$0]!) + "  " + $0 + "\n" }.joined()
            try FileIO.writeSynced(Array(manifest.utf8), to: temporary.appendingPathComponent(CheckpointStore.manifestName))
            try FileIO.syncDirectory(temporary)
            try refuseExisting(out)
            guard rename(temporary.path, out.path) == 0 else { throw FileIO.osError(out.path) }
            try FileIO.syncDirectory(directory)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            return Summary(textBytes: text.size + (data.valPath.isEmpty ? 0 : validation.range.count),
                           trainTokens: train.count, validationTokens: held.count, vocabularySize: vocabulary.count,
                           width: width, seconds: seconds)
        } catch let error as UserError {
            try? FileIO.removeTree(temporary)
            // Name the dataset the user asked for, not the temporary directory that is gone now.
            throw UserError(error.description.replacingOccurrences(of: temporary.path, with: out.path))
        } catch {
            try? FileIO.removeTree(temporary)
            throw error
        }
    }

    /// `out` must not exist; what is there is named in the refusal.
    private static func refuseExisting(_ out: URL) throws {
        var info = stat()
        guard lstat(out.path, &info) != 0 else {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw UserError("\(out.path): already exists; prepare writes a new directory (remove it or name another)")
            }
            try FileIO.requireReplaceable(out.path)
            throw UserError("\(out.path): already exists (a file); prepare writes a new directory")
        }
        guard errno == ENOENT else { throw FileIO.osError(out.path) }
    }

    /// The SHA-256 of a file, read sequentially a piece at a time.
    private static func fileHash(_ path: String) throws -> [UInt8] {
        let file = try TextChunks(path: path)
        var hash = Crypto.SHA256()
        try file.forEachPiece(0..<file.size, cut: .anywhere) { piece, _, _ in hash.update(data: piece) }
        return Array(hash.finalize())
    }
}
