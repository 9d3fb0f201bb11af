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
    fileprivate static func finish(_ kind: TokenizerKind, _ tokens: [String], withMask: Bool) -> Vocabulary {
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
        case .char:
            var scalars = ScalarSet()
            try scalars.add(text, source: source, offset: 0)
            return try scalars.vocabulary(source: source, withMask: withMask)
        case .word:
            var counts = WordCounts()
            counts.add(text)
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
        switch kind {
        case .byte:
            return (text.map { Int32($0) }, 0)
        case .char:
            let table = CharTable(tokens: tokens.dropLast(maskToken == nil ? 0 : 1))
            var ids: [Int32] = []
            ids.reserveCapacity(text.count)
            var unknown = 0
            try forEachScalar(in: text, source: source, offset: offset) { v in
                if let id = table[v] { ids.append(id) } else { unknown += 1 }
            }
            return (ids, unknown)
        case .word:
            // Includes the special names, so a literal "<unk>" in the text is not counted as unknown.
            var lookup: [String: Int32] = [:]
            lookup.reserveCapacity(tokens.count)
            for (id, token) in tokens.enumerated() { lookup[token] = Int32(id) }
            var ids: [Int32] = []
            var unknown = 0
            forEachWord(in: text, final: final) { range in
                guard let range else { ids.append(Self.eosID); return }
                if let id = lookup[String(decoding: text[range], as: UTF8.self)] {
                    ids.append(id)
                } else {
                    ids.append(Self.unkID)
                    unknown += 1
                }
            }
            return (ids, unknown)
        }
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

/// Word counts of a text in one piece or in pieces (`prepare`), for the word vocabulary; both
/// build the same vocabulary.
public struct WordCounts {
    private var counts: [String: Int] = [:]

    public init() {}

    /// Counts the words of `text`, which must not cut a word.
    public mutating func add(_ text: [UInt8]) {
        // "<eos>" (a nil range) is not counted, so whether this piece is the last does not matter.
        forEachWord(in: text, final: true) { range in
            guard let range else { return }
            counts[String(decoding: text[range], as: UTF8.self), default: 0] += 1
        }
    }

    /// "<eos>", "<unk>", then the words seen at least `minCount` times by descending count, ties
    /// by string order; no word at all → UserError.
    public func vocabulary(source: String, minCount: Int, withMask: Bool) throws -> Vocabulary {
        guard !counts.isEmpty else { throw UserError("\(source): text contains no words") }
        var counts = counts
        // The special names may occur literally (PTB text contains "<unk>"); they keep their fixed ids.
        for name in [Vocabulary.eosName, Vocabulary.unkName, Vocabulary.maskName] { counts[name] = nil }
        let kept = counts.filter { $0.value >= max(1, minCount) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return Vocabulary.finish(.word, [Vocabulary.eosName, Vocabulary.unkName] + kept.map(\.key), withMask: withMask)
    }
}

/// The scalars a char vocabulary holds, gathered from a text in one piece or in pieces (`prepare`
/// reads a corpus larger than memory a few megabytes at a time); both build the same vocabulary.
public struct ScalarSet {
    // Dense flags for the common scalars, a set for the rare rest.
    private var seenLow = [Bool](repeating: false, count: Int(CharTable.denseLimit))
    private var seenHigh = Set<UInt32>()
    /// Scalars added, repeats included: the training part's token count.
    public private(set) var scalarCount = 0

    public init() {}

    /// Adds the scalars of `bytes`, which must not cut a scalar; `offset` is where it starts in the text.
    public mutating func add(_ bytes: [UInt8], source: String, offset: Int) throws {
        var added = 0
        try forEachScalar(in: bytes, source: source, offset: offset) { v in
            if v < CharTable.denseLimit { seenLow[Int(v)] = true } else { seenHigh.insert(v) }
            added += 1
        }
        scalarCount += added
    }

    /// The char vocabulary of the scalars seen, sorted by value; none seen → UserError.
    public func vocabulary(source: String, withMask: Bool) throws -> Vocabulary {
        guard scalarCount > 0 else { throw UserError("\(source): text is empty") }
        var scalars = seenLow.indices.filter { seenLow[$0] }.map { UInt32($0) }
        scalars += seenHigh.sorted()
        let tokens = scalars.map { String(Character(Unicode.Scalar($0)!)) }
        return Vocabulary.finish(.char, tokens, withMask: withMask)
    }
}

/// Scalar → id for char vocabularies: a dense table below `denseLimit` (ASCII, Latin, Greek,
/// Cyrillic, ... in 8 KB), a dictionary above, so encoding is one array load per scalar.
private struct CharTable {
    static let denseLimit: UInt32 = 0x800
    private var dense = [Int32](repeating: -1, count: Int(denseLimit))
    private var sparse: [UInt32: Int32] = [:]

    init<C: Collection>(tokens: C) where C.Element == String {
        for (id, token) in tokens.enumerated() {
            guard let v = token.unicodeScalars.first?.value else { continue }
            if v < Self.denseLimit { dense[Int(v)] = Int32(id) } else { sparse[v] = Int32(id) }
        }
    }

    subscript(v: UInt32) -> Int32? {
        if v < Self.denseLimit {
            let id = dense[Int(v)]
            return id >= 0 ? id : nil
        }
        return sparse[v]
    }
}

/// Calls `body` with each Unicode scalar value of strict UTF-8 `bytes` (no overlongs, surrogates or
/// values above U+10FFFF). Decoded by hand so a 1 MB corpus costs no per-character allocation and
/// the error can name the byte offset where the bad sequence starts.
/// Offsets in errors are counted from `offset`, where `bytes` starts in the text.
func forEachScalar(in bytes: [UInt8], source: String, offset: Int = 0, _ body: (UInt32) -> Void) throws {
    try bytes.withUnsafeBufferPointer { p in
        let n = p.count
        var i = 0
        while i < n {
            let b0 = p[i]
            if b0 < 0x80 {
                body(UInt32(b0))
                i += 1
                continue
            }
            let length: Int
            let minimum: UInt32
            var v: UInt32
            switch b0 {
            case 0xC2...0xDF: (length, minimum, v) = (2, 0x80, UInt32(b0 & 0x1F))
            case 0xE0...0xEF: (length, minimum, v) = (3, 0x800, UInt32(b0 & 0x0F))
            case 0xF0...0xF4: (length, minimum, v) = (4, 0x10000, UInt32(b0 & 0x07))
            default: throw invalidUTF8(source, at: offset + i)
            }
            guard i + length <= n else { throw invalidUTF8(source, at: offset + i) }
            for k in 1..<length {
                let b = p[i + k]
                guard b & 0xC0 == 0x80 else { throw invalidUTF8(source, at: offset + i) }
                v = v << 6 | UInt32(b & 0x3F)
            }
            guard v >= minimum, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else {
                throw invalidUTF8(source, at: offset + i)
            }
            body(v)
            i += length
        }
    }
}

private func invalidUTF8(_ source: String, at offset: Int) -> UserError {
    UserError("\(source): invalid UTF-8 at byte offset \(offset) (tokenizer 'byte' accepts any bytes)")
}

/// The ASCII whitespace that separates words.
public func isWordSpace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C
}

/// Splits text into whitespace-separated words as the PyTorch word-language-model reference does
/// (`line.split() + ['<eos>']`): `body` gets each word's byte range, and nil for "<eos>" at every
/// '\n' and after a last line that has no newline. Whitespace is ASCII only, so splitting needs no
/// decoding. A piece of a longer text (not `final`) ends in whitespace and gets no "<eos>" for
/// its end: that belongs to the end of the whole text.
func forEachWord(in text: [UInt8], final: Bool, _ body: (Range<Int>?) -> Void) {
    var start: Int? = nil
    for (i, b) in text.enumerated() {
        if isWordSpace(b) {
            if let s = start { body(s..<i); start = nil }
            if b == 0x0A { body(nil) }
        } else if start == nil {
            start = i
        }
    }
    if let s = start { body(s..<text.count) }
    if final, let last = text.last, last != 0x0A { body(nil) }
}
