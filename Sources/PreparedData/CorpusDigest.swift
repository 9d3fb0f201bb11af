import Checkpoints
import Files
import Glibc
import TextData

/// The digest of a corpus's tokens, what ranks compare and checkpoints record as the data they
/// were trained on: SHA-256 of the training token file's SHA-256 then the validation token
/// file's, the files as `prepare` writes them (header, then the ids at their width).
///
/// Those two hashes are `SHA256SUMS`'s own, so the digest costs `prepare` nothing beyond the
/// manifest (one sequential pass over one byte per character), `open` reads it from `SHA256SUMS`,
/// and a text read into memory gets the same digest by hashing the files it would have written.
/// An older rnntrain recorded `legacy` instead (SHA-256 of every id as Int32); a resume from such a
/// checkpoint computes that once to check it.
public enum CorpusDigest {
    /// The digest from the token files' SHA-256s.
    static func combining(train: [UInt8], validation: [UInt8]) -> [UInt8] {
        SHA256.hash(train + validation)
    }

    /// The corpus's digest: the one its dataset recorded, or the hash of the token files a
    /// preparation of its streams would write.
    public static func of(_ corpus: Corpus) throws -> [UInt8] {
        if let digest = corpus.digest { return digest }
        let vocabularyHash = SHA256.hash(PreparedDataset.vocabularyFile(corpus.vocabulary))
        let width = TokenFileHeader.width(forVocabularySize: corpus.vocabulary.count)
        func fileHash(_ tokens: any TokenStream) throws -> [UInt8] {
            var hash = SHA256.Stream()
            hash.update(TokenFileHeader(width: width, count: tokens.count, vocabularySize: corpus.vocabulary.count,
                                              tokenizer: corpus.vocabulary.kind, vocabularyHash: vocabularyHash).encoded())
            try forEachChunk(of: tokens) { ids in
                switch width {
                case 1: ids.map { UInt8(truncatingIfNeeded: $0) }.withUnsafeBytes { hash.update($0) }
                case 2: ids.map { UInt16(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { hash.update($0) }
                default: ids.map { UInt32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { hash.update($0) }
                }
            }
            return hash.digest()
        }
        return combining(train: try fileHash(corpus.train), validation: try fileHash(corpus.validation))
    }

    /// What an older rnntrain recorded: SHA-256 of the training then the validation ids as
    /// little-endian Int32.
    public static func legacy(_ corpus: Corpus) throws -> [UInt8] {
        var hash = SHA256.Stream()
        for tokens in [corpus.train, corpus.validation] {
            try forEachChunk(of: tokens) { ids in
                ids.map(\.littleEndian).withUnsafeBytes { hash.update($0) }
            }
        }
        return hash.digest()
    }

    /// Calls `body` with `tokens` in order, a million at a time, so that a mapped corpus is hashed
    /// in bounded memory.
    private static func forEachChunk(of tokens: any TokenStream, _ body: ([Int32]) -> Void) throws {
        let chunk = 1 << 20
        var ids = [Int32](repeating: 0, count: min(chunk, tokens.count))
        for start in stride(from: 0, to: tokens.count, by: chunk) {
            let n = min(chunk, tokens.count - start)
            try ids.withUnsafeMutableBufferPointer { try tokens.copy(start..<(start + n), to: $0.baseAddress!) }
            body(n == ids.count ? ids : Array(ids[..<n]))
        }
    }
}

/// Reading token files back for `SHA256SUMS`.
enum TokenFileHashes {
    private static let chunkBytes = 1 << 20

    /// The SHA-256 of the file at `path`; `progress` gets the bytes hashed so far.
    static func fileHash(_ path: String, progress: (Int) throws -> Void) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileIO.osError(path) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var hash = SHA256.Stream()
        var done = 0
        while true {
            let n = read(fd, buffer.baseAddress!, chunkBytes)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw FileIO.osError(path) }
            if n == 0 { return hash.digest() }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            done += n
            try progress(done)
        }
    }
}
