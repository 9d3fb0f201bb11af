import Files
import Config

/// The token set a model was trained with; stored in checkpoints.
///
/// Only `kind`, `tokens` and `maskToken` are stored: the lookup tables `encode` needs are rebuilt
/// per call (a few microseconds for 65 characters, a few milliseconds for 30k words), so the
/// struct stays plain data and `Equatable` compares exactly what a checkpoint holds.
public struct Vocabulary: Equatable, Sendable {
    public let kind: TokenizerKind
    /// Token texts by id. char: one Unicode scalar each, sorted by scalar value; byte: 256 entries,
    /// "<0xAB>" style names for display only; word: "<eos>", "<unk>", then words by descending
    /// count, ties by string order. A "<mask>" token, when present, is last.
    public let tokens: [String]
    /// Id of "<mask>" when built for the fill-in-the-middle task.
    public let maskToken: Int32?

    public var count: Int { tokens.count }

    static let eosName = "<eos>"
    static let unkName = "<unk>"
    static let maskName = "<mask>"
    /// Word ids fixed by the layout above.
    static let eosID: Int32 = 0
    static let unkID: Int32 = 1

    /// The display names of the 256 byte tokens, "<0x00>" ... "<0xFF>".
    static let byteNames: [String] = (0..<256).map { b in
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (b < 16 ? "0" : "") + hex + ">"
    }

    /// Trusted construction (from `build`, whose output is valid by construction).
    private init(validated kind: TokenizerKind, tokens: [String], maskToken: Int32?) {
        self.kind = kind
        self.tokens = tokens
        self.maskToken = maskToken
    }

    /// Appends "<mask>" last when asked, so the ids of the real tokens do not depend on it.
    static func finish(_ kind: TokenizerKind, _ tokens: [String], withMask: Bool) -> Vocabulary {
        guard withMask else { return Vocabulary(validated: kind, tokens: tokens, maskToken: nil) }
        return Vocabulary(validated: kind, tokens: tokens + [maskName], maskToken: Int32(tokens.count))
    }

    /// Builds the vocabulary from the training text. char: invalid UTF-8 → UserError naming
    /// `source` and the byte offset; empty text → UserError. word: whitespace-separated words,
    /// "<eos>" at each line end (also after a last line without newline), words seen fewer than
    /// minCount times map to "<unk>".
    public static func build(kind: TokenizerKind, text: [UInt8], source: String, minCount: Int,
                             withMask: Bool) throws -> Vocabulary {
        switch kind {
        case .byte:
            // Every byte is a token whether or not the text uses it, so any file can be encoded later.
            return finish(.byte, byteNames, withMask: withMask)
        case .char, .word:
            var counts = TextCounts(kind: kind)
            try counts.add(text, source: source, offset: 0, final: true)
            return try counts.vocabulary(source: source, minCount: minCount, withMask: withMask)
        }
    }

    /// Rebuilds from a stored token list (checkpoint metadata); validates it (byte needs the 256
    /// entries, no duplicates, mask last if present) → UserError.
    public init(kind: TokenizerKind, tokens: [String], maskToken: Int32?) throws {
        func fail(_ why: String) -> UserError { UserError("stored \(kind.rawValue) vocabulary: \(why)") }
        let maskCount = maskToken == nil ? 0 : 1
        if let maskToken {
            guard Int(maskToken) == tokens.count - 1, tokens.last == Self.maskName else {
                throw fail("mask token id \(maskToken) is not the last entry \"<mask>\" of \(tokens.count)")
            }
        }
        let plain = tokens.dropLast(maskCount)
        guard !plain.contains(Self.maskName) else { throw fail("\"<mask>\" present but no mask id given") }
        switch kind {
        case .byte:
            guard Array(plain) == Self.byteNames else {
                throw fail("expected the 256 byte tokens <0x00>...<0xFF>, got \(plain.count) entries")
            }
        case .char:
            guard !plain.isEmpty else { throw fail("no tokens") }
            // Compared by scalar value: String equality would merge canonically equivalent scalars.
            var seen = Set<UInt32>()
            for token in plain {
                let scalars = token.unicodeScalars
                guard scalars.count == 1, let v = scalars.first?.value else {
                    throw fail("token \(JSON.quotedShort(token)) is not a single Unicode scalar")
                }
                guard seen.insert(v).inserted else { throw fail("duplicate token \(JSON.quotedShort(token))") }
            }
        case .word:
            guard plain.count >= 2, plain[0] == Self.eosName, plain[1] == Self.unkName else {
                throw fail("must start with \"<eos>\", \"<unk>\"")
            }
            var seen = Set<String>()
            for token in plain {
                guard !token.isEmpty else { throw fail("empty token") }
                guard seen.insert(token).inserted else { throw fail("duplicate token \(JSON.quotedShort(token))") }
            }
        }
        self.init(validated: kind, tokens: tokens, maskToken: maskToken)
    }

    /// Encodes bytes. char: invalid UTF-8 → UserError naming `source` and offset; scalars not in
    /// the vocabulary are skipped and counted. word: unknown words → <unk> (counted as unknown).
    public func encode(_ text: [UInt8], source: String) throws -> (tokens: [Int32], unknown: Int) {
        try encode(text, source: source, offset: 0)
    }

    /// `encode` of a piece of a longer text that starts at byte `offset` of it; errors name
    /// offsets in the whole text. A piece must not cut a scalar (char) or a word (word: it ends
    /// in whitespace unless `final`, the last piece, which alone gets the "<eos>" of a last line
    /// without newline).
    public func encode(_ text: [UInt8], source: String, offset: Int, final: Bool = true) throws -> (tokens: [Int32], unknown: Int) {
        let (ids, unknown) = try TokenEncoder(self).encode(text, source: source, offset: offset, final: final, as: Int32.self)
        return (ids, unknown)
    }

    /// Text for ids (byte: raw bytes decoded as UTF-8 with replacement; word: words joined by
    /// spaces, "<eos>" as a newline; mask shown as its name). Ids out of range show as U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        func name(_ id: Int32) -> String { tokens.indices.contains(Int(id)) ? tokens[Int(id)] : "\u{FFFD}" }
        switch kind {
        case .byte:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(ids.count)
            for id in ids {
                if (0..<256).contains(id) { bytes.append(UInt8(id)) } else { bytes += Array(name(id).utf8) }
            }
            return String(decoding: bytes, as: UTF8.self)
        case .char:
            var out = ""
            for id in ids { out += name(id) }
            return out
        case .word:
            var out = ""
            var lineStart = true
            for id in ids {
                if id == Self.eosID {
                    out += "\n"
                    lineStart = true
                } else {
                    if !lineStart { out += " " }
                    out += name(id)
                    lineStart = false
                }
            }
            return out
        }
    }
}
