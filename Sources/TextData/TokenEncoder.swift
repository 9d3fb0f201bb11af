import Config
import Files

/// Encodes text into a vocabulary's ids, of any integer type: Int32 for the tokens a run holds,
/// UInt8/UInt16/UInt32 for a prepared token file, written at its width without a copy at Int32.
/// Built once per vocabulary (its tables cost a few milliseconds for 30k words), then used for
/// every piece of a text. `Vocabulary.encode` is this encoder.
public struct TokenEncoder: Sendable {
    private let kind: TokenizerKind
    /// char: the id of each ASCII byte, -1 when it is not a token (the common case costs one load).
    private let ascii: [Int32]
    private let scalars: CharTable
    /// word: ids by the words' bytes, and by their strings for a word that is not UTF-8 (decoded
    /// with replacement, as the vocabulary's words were).
    private let words: WordTable
    private let strings: [String: Int32]

    public init(_ vocabulary: Vocabulary) {
        kind = vocabulary.kind
        let plain = vocabulary.tokens.dropLast(vocabulary.maskToken == nil ? 0 : 1)
        let scalars = kind == .char ? CharTable(tokens: plain) : CharTable(tokens: [])
        self.scalars = scalars
        ascii = (0..<128).map { scalars[UInt32($0)] ?? -1 }
        var words = WordTable()
        var strings: [String: Int32] = [:]
        if kind == .word {
            // Includes the special names, so a literal "<unk>" in the text is not counted as unknown.
            for (id, token) in vocabulary.tokens.enumerated() {
                strings[token] = Int32(id)
                Array(token.utf8).withUnsafeBufferPointer { words.add(id, toWord: $0.baseAddress!, $0.count) }
            }
        }
        self.words = words
        self.strings = strings
    }

    /// The ids of `text`, a piece that starts at byte `offset` of `source` (for the offset of
    /// invalid UTF-8) and must not cut a scalar (char) or a word (word: it ends in whitespace
    /// unless `final`, the end of the text, which alone gets the "<eos>" of a last line without
    /// newline). char: scalars not in the vocabulary are skipped and counted; word: unknown words
    /// are "<unk>" and counted. At most `text.count + 1` ids.
    // Specialized here for the callers in other modules, which would otherwise run the generic
    // code through witness tables at a third of the speed.
    @_specialize(where T == UInt8)
    @_specialize(where T == UInt16)
    @_specialize(where T == UInt32)
    @_specialize(where T == Int32)
    public func encode<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>, source: String, offset: Int,
                                             final: Bool, as _: T.Type = T.self) throws -> (ids: [T], unknown: Int) {
        var unknown = 0
        var failure: Error?
        let ids = [T](unsafeUninitializedCapacity: text.count + 1) { out, count in
            var n = 0
            switch kind {
            case .byte:
                for b in text { out[n] = T(b); n += 1 }
            case .char:
                do {
                    n = try encodeScalars(text, into: out.baseAddress!, unknown: &unknown, source: source, offset: offset)
                } catch {
                    failure = error
                }
            case .word:
                forEachWord(in: text, final: final) { start, end in
                    guard start >= 0 else { out[n] = T(Vocabulary.eosID); n += 1; return }
                    if let id = id(ofWord: text.baseAddress! + start, end - start) {
                        out[n] = T(truncatingIfNeeded: id)
                    } else {
                        out[n] = T(Vocabulary.unkID)
                        unknown += 1
                    }
                    n += 1
                }
            }
            count = n
        }
        if let failure { throw failure }
        return (ids, unknown)
    }

    public func encode<T: FixedWidthInteger>(_ text: [UInt8], source: String, offset: Int, final: Bool,
                                             as type: T.Type = T.self) throws -> (ids: [T], unknown: Int) {
        try text.withUnsafeBufferPointer { try encode($0, source: source, offset: offset, final: final, as: type) }
    }

    /// char: the ids of `text` written from `out` on; returns how many. ASCII is looked up eight
    /// bytes at a time without a branch per byte (an unknown byte's slot is overwritten next).
    private func encodeScalars<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<T>,
                                                     unknown: inout Int, source: String, offset: Int) throws -> Int {
        guard let p = text.baseAddress else { return 0 }
        let count = text.count
        var n = 0, i = 0, skipped = 0
        try ascii.withUnsafeBufferPointer { tableBuffer in
            let table = tableBuffer.baseAddress!
            while i < count {
                if i + 8 <= count, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    for k in 0..<8 {
                        let id = table[Int(p[i + k])]
                        out[n] = T(truncatingIfNeeded: id)
                        let known = Int(truncatingIfNeeded: ~id >> 31) & 1
                        n += known
                        skipped += 1 - known
                    }
                    i += 8
                    continue
                }
                let b = p[i]
                if b < 0x80 {
                    let id = table[Int(b)]
                    if id >= 0 { out[n] = T(truncatingIfNeeded: id); n += 1 } else { skipped += 1 }
                    i += 1
                    continue
                }
                guard let (v, length) = decodeScalar(text, at: i) else { throw invalidUTF8(source, at: offset + i) }
                if let id = scalars[v] { out[n] = T(truncatingIfNeeded: id); n += 1 } else { skipped += 1 }
                i += length
            }
        }
        unknown += skipped
        return n
    }

    private func id(ofWord word: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        if let id = words.value(word, length) { return id }
        // Not found by its bytes: found by its string only when it is not valid UTF-8.
        let buffer = UnsafeBufferPointer(start: word, count: length)
        let text = String(decoding: buffer, as: UTF8.self)
        guard !text.utf8.elementsEqual(buffer) else { return nil }
        return strings[text].map(Int.init)
    }
}

/// Scalar → id for char vocabularies: a dense table below `denseLimit` (ASCII, Latin, Greek,
/// Cyrillic, ... in 8 KB), a dictionary above, so encoding is one array load per scalar.
struct CharTable: Sendable {
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

/// The Unicode scalar that starts at `p[i]`, a lead byte ≥ 0x80, and its length in bytes; nil
/// when the bytes there are not strict UTF-8 (overlongs, surrogates, values above U+10FFFF and
/// sequences cut by the end are not). Decoded by hand so that a corpus costs no allocation per
/// character and an error can name the byte offset where the bad sequence starts.
func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int)? {
    let b0 = p[i]
    let length: Int
    let minimum: UInt32
    var v: UInt32
    switch b0 {
    case 0xC2...0xDF: (length, minimum, v) = (2, 0x80, UInt32(b0 & 0x1F))
    case 0xE0...0xEF: (length, minimum, v) = (3, 0x800, UInt32(b0 & 0x0F))
    case 0xF0...0xF4: (length, minimum, v) = (4, 0x10000, UInt32(b0 & 0x07))
    default: return nil
    }
    guard i + length <= p.count else { return nil }
    for k in 1..<length {
        let b = p[i + k]
        guard b & 0xC0 == 0x80 else { return nil }
        v = v << 6 | UInt32(b & 0x3F)
    }
    guard v >= minimum, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { return nil }
    return (v, length)
}

func invalidUTF8(_ source: String, at offset: Int) -> UserError {
    UserError("\(source): invalid UTF-8 at byte offset \(offset) (tokenizer 'byte' accepts any bytes)")
}

/// The ASCII whitespace that separates words.
public func isWordSpace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C
}

/// Splits text into whitespace-separated words as the PyTorch word-language-model reference does
/// (`line.split() + ['<eos>']`): `body` gets each word's byte range as (start, end), and (-1, -1)
/// for "<eos>" at every '\n' and after a last line that has no newline. Whitespace is ASCII only,
/// so splitting needs no decoding. A piece of a longer text (not `final`) ends in whitespace and
/// gets no "<eos>" for its end: that belongs to the end of the whole text.
func forEachWord(in text: UnsafeBufferPointer<UInt8>, final: Bool, _ body: (Int, Int) -> Void) {
    var start = -1
    for i in 0..<text.count {
        let b = text[i]
        if b <= 0x20, isWordSpace(b) {
            if start >= 0 { body(start, i); start = -1 }
            if b == 0x0A { body(-1, -1) }
        } else if start < 0 {
            start = i
        }
    }
    if start >= 0 { body(start, text.count) }
    if final, let last = text.last, last != 0x0A { body(-1, -1) }
}
