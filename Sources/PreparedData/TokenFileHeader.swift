import Config
import Files

/// The fixed header of a prepared token file (`train.tokens`, `validation.tokens`). The file is
/// the header, then `count` token ids of `width` bytes each, little-endian: [count] of UInt8,
/// UInt16 or UInt32. All header fields are little-endian; 128 bytes:
///
/// | offset | bytes | field |
/// | --- | --- | --- |
/// | 0 | 8 | magic "RNNTOKS\0" |
/// | 8 | 4 | format version, 2 |
/// | 12 | 4 | width of a token id in bytes: 1, 2 or 4 |
/// | 16 | 8 | token count |
/// | 24 | 4 | vocabulary size \|V\| (every id is below it) |
/// | 28 | 4 | zero |
/// | 32 | 8 | tokenizer name, ASCII, zero-padded ("char", "byte", "word") |
/// | 40 | 32 | SHA-256 of `vocabulary.json` |
/// | 72 | 56 | zero |
///
/// Version 1 held a corpus digest at 72 (SHA-256 of every id as Int32), hashed on one rank; the
/// digest is now the token files' own SHA-256s (`CorpusDigest`), so the header holds nothing that
/// needs the ids.
public struct TokenFileHeader: Equatable, Sendable {
    public static let size = 128
    public static let magic: [UInt8] = Array("RNNTOKS\0".utf8)
    public static let version: UInt32 = 2

    public var width: Int
    public var count: Int
    public var vocabularySize: Int
    public var tokenizer: TokenizerKind
    public var vocabularyHash: [UInt8]

    public init(width: Int, count: Int, vocabularySize: Int, tokenizer: TokenizerKind, vocabularyHash: [UInt8]) {
        self.width = width
        self.count = count
        self.vocabularySize = vocabularySize
        self.tokenizer = tokenizer
        self.vocabularyHash = vocabularyHash
    }

    /// The narrowest width that holds every id of a vocabulary of `size` tokens.
    public static func width(forVocabularySize size: Int) -> Int {
        size <= 1 << 8 ? 1 : size <= 1 << 16 ? 2 : 4
    }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(Self.version)
        append(UInt32(width))
        append(UInt64(count))
        append(UInt32(vocabularySize))
        append(UInt32(0))
        let name = Array(tokenizer.rawValue.utf8)
        bytes += name + [UInt8](repeating: 0, count: 8 - name.count)
        bytes += vocabularyHash
        bytes += [UInt8](repeating: 0, count: Self.size - bytes.count)
        return bytes
    }

    /// Parses a header read from an untrusted file of `fileSize` bytes: a bounded parser that looks
    /// at exactly `size` bytes, checks every field (magic, version, width, tokenizer name, the
    /// zero fields) and that the count agrees with the file size, without trusting any field to
    /// size an allocation. Each failure is one line naming `source`.
    public static func parse(_ bytes: [UInt8], fileSize: Int, source: String) throws -> TokenFileHeader {
        func fail(_ why: String) -> UserError { UserError("\(source): \(why)") }
        guard bytes.count >= size, fileSize >= size else {
            throw fail("\(fileSize) bytes, shorter than the \(size)-byte header of a prepared token file")
        }
        guard Array(bytes[0..<8]) == magic else { throw fail("not a prepared token file (bad magic)") }
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let version = load(8, UInt32.self)
        guard version == Self.version else {
            throw fail("format version \(version), this rnntrain reads version \(Self.version)\(version < Self.version ? " (an older rnntrain's: prepare the text again)" : "")")
        }
        let width = Int(load(12, UInt32.self))
        guard [1, 2, 4].contains(width) else { throw fail("token width \(width), expected 1, 2 or 4") }
        let count = load(16, UInt64.self)
        let payload = UInt64(fileSize - size)
        guard payload % UInt64(width) == 0, count == payload / UInt64(width) else {
            throw fail("the header counts \(count) tokens of \(width) bytes, but the file holds \(fileSize - size) bytes after the header (truncated or extended?)")
        }
        let vocabularySize = Int(load(24, UInt32.self))
        guard vocabularySize > 0, width == Self.width(forVocabularySize: vocabularySize) else {
            throw fail("vocabulary size \(vocabularySize) does not match the token width \(width)")
        }
        guard load(28, UInt32.self) == 0, bytes[72..<size].allSatisfy({ $0 == 0 }) else {
            throw fail("reserved header bytes are not zero")
        }
        let nameBytes = bytes[32..<40].prefix { $0 != 0 }
        guard bytes[(32 + nameBytes.count)..<40].allSatisfy({ $0 == 0 }),
              let kind = TokenizerKind(rawValue: String(decoding: nameBytes, as: UTF8.self)) else {
            throw fail("unknown tokenizer in the header")
        }
        return TokenFileHeader(width: width, count: Int(count), vocabularySize: vocabularySize, tokenizer: kind,
                               vocabularyHash: Array(bytes[40..<72]))
    }
}
