import Config
import Files

/// What one pass over a text, or over a part of it, gathers: the counts a vocabulary is built
/// from (char: each scalar's occurrences; word: each word's), and how many tokens the part
/// encodes to. Parts counted apart (`prepare`'s pieces, or its ranks' byte ranges) and merged
/// give the counts of the whole, whatever the cuts and the order of merging, so every world size
/// builds the same vocabulary as `Vocabulary.build` of the whole text.
public struct TextCounts: Sendable {
    public let kind: TokenizerKind
    /// Scalars seen, with their counts (char).
    public private(set) var scalars = ScalarSet()
    /// Words seen, with their counts (word, when counting for the vocabulary).
    public private(set) var words = WordCounts()
    /// The tokens the text encodes to when every token is known: its scalars (char), words and
    /// "<eos>"s (word) or bytes (byte).
    public private(set) var tokens = 0
    private let countingWords: Bool

    /// `countingWords`: whether word counts are kept (the vocabulary's part of the text), or
    /// only the token count (a validation part: unknown words are "<unk>" tokens too).
    public init(kind: TokenizerKind, countingWords: Bool = true) {
        self.kind = kind
        self.countingWords = countingWords
    }

    /// The counts of `count` bytes of text for the byte tokenizer, which needs no reading.
    public init(byteTokens count: Int) {
        self.init(kind: .byte)
        tokens = count
    }

    /// Adds a piece of the text, which must not cut a scalar (char) or a word (word: it ends in
    /// whitespace unless `final`, the end of the text); `offset` is where it starts in `source`,
    /// for the offset of invalid UTF-8.
    public mutating func add(_ piece: UnsafeBufferPointer<UInt8>, source: String, offset: Int, final: Bool) throws {
        switch kind {
        case .byte:
            tokens += piece.count
        case .char:
            tokens += try scalars.add(piece, source: source, offset: offset)
        case .word:
            tokens += countingWords ? words.add(piece, final: final) : WordCounts.tokens(piece, final: final)
        }
    }

    public mutating func add(_ piece: [UInt8], source: String, offset: Int, final: Bool) throws {
        try piece.withUnsafeBufferPointer { try add($0, source: source, offset: offset, final: final) }
    }

    /// Adds `other`'s counts: the counts of the two parts together.
    public mutating func merge(_ other: TextCounts) {
        scalars.merge(other.scalars)
        words.merge(other.words)
        tokens += other.tokens
    }

    /// The vocabulary of these counts, as `Vocabulary.build` makes it.
    public func vocabulary(source: String, minCount: Int, withMask: Bool) throws -> Vocabulary {
        switch kind {
        case .byte: return try Vocabulary.build(kind: .byte, text: [], source: source, minCount: minCount, withMask: withMask)
        case .char: return try scalars.vocabulary(source: source, withMask: withMask)
        case .word: return try words.vocabulary(source: source, minCount: minCount, withMask: withMask)
        }
    }

    /// The tokens this text encodes to in `vocabulary`: char skips the scalars it lacks.
    public func tokens(in vocabulary: Vocabulary) -> Int {
        kind == .char ? scalars.occurrences(in: vocabulary) : tokens
    }

    /// The counts as bytes, for sending to another rank: the token count, then each scalar (or
    /// word) with its count, all little-endian.
    public func serialized() -> [UInt8] {
        var out = CountBytes()
        out.append(UInt64(tokens))
        scalars.serialize(into: &out)
        words.serialize(into: &out)
        return out.bytes
    }

    /// Counts `serialized()` made, by a rank of the same job (a malformed message is its bug, not input).
    public init(serialized bytes: [UInt8], kind: TokenizerKind) throws {
        self.init(kind: kind)
        var input = CountBytes(bytes: bytes)
        tokens = Int(try input.next())
        scalars = try ScalarSet(from: &input)
        words = try WordCounts(from: &input)
    }
}

/// Little-endian UInt64s and byte strings in one buffer.
struct CountBytes {
    var bytes: [UInt8] = []
    private var position = 0

    init() {}
    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }

    mutating func next() throws -> UInt64 {
        guard position + 8 <= bytes.count else { throw UserError("counts from another rank are cut short") }
        defer { position += 8 }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt64.self)) }
    }

    mutating func next(bytes count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw UserError("counts from another rank are cut short") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }
}

/// The scalars of a char text with how often each occurs, gathered from a text in one piece or
/// in pieces; both build the same vocabulary.
public struct ScalarSet: Sendable {
    // Dense counts for the common scalars, a dictionary for the rare rest.
    private var low = [Int](repeating: 0, count: Int(CharTable.denseLimit))
    private var high: [UInt32: Int] = [:]
    /// Scalars added, repeats included.
    public private(set) var scalarCount = 0

    public init() {}

    /// Adds the scalars of `bytes`, which must not cut a scalar; `offset` is where it starts in
    /// `source`. Returns how many it added.
    @discardableResult
    public mutating func add(_ bytes: [UInt8], source: String, offset: Int) throws -> Int {
        try bytes.withUnsafeBufferPointer { try add($0, source: source, offset: offset) }
    }

    @discardableResult
    mutating func add(_ p: UnsafeBufferPointer<UInt8>, source: String, offset: Int) throws -> Int {
        let n = p.count
        // ASCII eight bytes at a time, into four interleaved tables, so that a letter repeated
        // does not wait for its own increment.
        var ascii = [Int](repeating: 0, count: 4 * 128)
        var added = 0
        try ascii.withUnsafeMutableBufferPointer { t in
            var i = 0
            while i < n {
                if i + 8 <= n {
                    let word = UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 == 0 {
                        for k in 0..<8 { t[(k & 3) << 7 | Int(p[i + k])] += 1 }
                        i += 8
                        added += 8
                        continue
                    }
                }
                let b = p[i]
                if b < 0x80 {
                    t[Int(b)] += 1
                    i += 1
                } else {
                    guard let (v, length) = decodeScalar(p, at: i) else { throw invalidUTF8(source, at: offset + i) }
                    if v < CharTable.denseLimit { low[Int(v)] += 1 } else { high[v, default: 0] += 1 }
                    i += length
                }
                added += 1
            }
        }
        for b in 0..<128 { low[b] += ascii[b] + ascii[128 + b] + ascii[256 + b] + ascii[384 + b] }
        scalarCount += added
        return added
    }

    mutating func merge(_ other: ScalarSet) {
        for v in low.indices { low[v] += other.low[v] }
        for (v, count) in other.high { high[v, default: 0] += count }
        scalarCount += other.scalarCount
    }

    /// The char vocabulary of the scalars seen, sorted by value; none seen → UserError.
    public func vocabulary(source: String, withMask: Bool) throws -> Vocabulary {
        guard scalarCount > 0 else { throw UserError("\(source): text is empty") }
        var scalars = low.indices.filter { low[$0] > 0 }.map { UInt32($0) }
        scalars += high.keys.sorted()
        let tokens = scalars.map { String(Character(Unicode.Scalar($0)!)) }
        return Vocabulary.finish(.char, tokens, withMask: withMask)
    }

    /// Occurrences of the scalars that are tokens of `vocabulary`.
    func occurrences(in vocabulary: Vocabulary) -> Int {
        var total = 0
        for token in vocabulary.tokens.dropLast(vocabulary.maskToken == nil ? 0 : 1) {
            guard let v = token.unicodeScalars.first?.value else { continue }
            total += v < CharTable.denseLimit ? low[Int(v)] : high[v] ?? 0
        }
        return total
    }

    fileprivate func serialize(into out: inout CountBytes) {
        let seen = low.indices.filter { low[$0] > 0 }.map { (UInt32($0), low[$0]) } + high.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        out.append(UInt64(seen.count))
        for (v, count) in seen {
            out.append(UInt64(v))
            out.append(UInt64(count))
        }
    }

    fileprivate init(from input: inout CountBytes) throws {
        for _ in 0..<Int(try input.next()) {
            let v = UInt32(truncatingIfNeeded: try input.next()), count = Int(try input.next())
            if v < CharTable.denseLimit { low[Int(v)] += count } else { high[v, default: 0] += count }
            scalarCount += count
        }
    }
}

/// Word counts of a text in one piece or in pieces (`prepare`), for the word vocabulary; both
/// build the same vocabulary.
public struct WordCounts: Sendable {
    private var table = WordTable()

    public init() {}

    /// Counts the words of `text`, which must not cut a word.
    public mutating func add(_ text: [UInt8]) {
        text.withUnsafeBufferPointer { _ = add($0, final: true) }
    }

    /// Counts the words of `text`; returns its tokens, words and "<eos>"s (one after a last line
    /// without newline when `final`).
    mutating func add(_ text: UnsafeBufferPointer<UInt8>, final: Bool) -> Int {
        var tokens = 0
        forEachWord(in: text, final: final) { start, end in
            tokens += 1
            // "<eos>" (start < 0) is not counted as a word.
            if start >= 0 { table.add(1, toWord: text.baseAddress! + start, end - start) }
        }
        return tokens
    }

    /// The tokens of `text` without counting its words.
    static func tokens(_ text: UnsafeBufferPointer<UInt8>, final: Bool) -> Int {
        var tokens = 0
        forEachWord(in: text, final: final) { _, _ in tokens += 1 }
        return tokens
    }

    mutating func merge(_ other: WordCounts) {
        other.table.forEach { key, count in key.withUnsafeBufferPointer { table.add(count, toWord: $0.baseAddress!, $0.count) } }
    }

    /// "<eos>", "<unk>", then the words seen at least `minCount` times by descending count, ties
    /// by string order; no word at all → UserError.
    public func vocabulary(source: String, minCount: Int, withMask: Bool) throws -> Vocabulary {
        guard table.count > 0 else { throw UserError("\(source): text contains no words") }
        // Words as strings: byte strings of invalid UTF-8 that decode alike count as one word.
        var counts: [String: Int] = [:]
        table.forEach { key, count in counts[String(decoding: key, as: UTF8.self), default: 0] += count }
        // The special names may occur literally (PTB text contains "<unk>"); they keep their fixed ids.
        for name in [Vocabulary.eosName, Vocabulary.unkName, Vocabulary.maskName] { counts[name] = nil }
        let kept = counts.filter { $0.value >= max(1, minCount) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return Vocabulary.finish(.word, [Vocabulary.eosName, Vocabulary.unkName] + kept.map(\.key), withMask: withMask)
    }

    fileprivate func serialize(into out: inout CountBytes) {
        out.append(UInt64(table.count))
        table.forEach { key, count in
            out.append(UInt64(key.count))
            out.bytes += key
            out.append(UInt64(count))
        }
    }

    fileprivate init(from input: inout CountBytes) throws {
        for _ in 0..<Int(try input.next()) {
            let key = try input.next(bytes: Int(try input.next()))
            let count = Int(try input.next())
            guard !key.isEmpty else { throw UserError("an empty word in counts from another rank") }
            Array(key).withUnsafeBufferPointer { table.add(count, toWord: $0.baseAddress!, $0.count) }
        }
    }
}
