import TestSupport
/// Seeded mutations of byte strings, for FuzzTests. Every choice comes from `rng`, so the same
/// seed replays the same inputs. Generic mutations (bit flips, inserts, deletes, truncation,
/// splicing, duplication) are mixed with ones aimed at what the readers parse: numbers replaced
/// by huge, negative or fractional ones, JSON members and YAML lines duplicated, deep nesting,
/// YAML anchors, aliases and tags.
struct Mutator {
    typealias RNG = SplitMix

    var rng: RNG
    /// Other inputs of the same kind, for splicing.
    let corpus: [[UInt8]]
    /// Whether a mutation may add tens of kilobytes (deep nesting, long runs).
    let large: Bool

    init(seed: UInt64, corpus: [[UInt8]], large: Bool = true) {
        rng = RNG(seed: seed)
        self.corpus = corpus
        self.large = large
    }

    /// Numbers a reader must survive in place of any number it finds.
    static let numbers = [
        "0", "-0", "1", "-1", "2", "3", "7", "255", "256", "1024", "65536", "65537", "16777216", "16777217",
        "2147483647", "2147483648", "4294967296", "9007199254740992", "9007199254740993", "4611686018427387904",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999999999999", "1e3", "1e308", "1e309", "-1e309", "1.5",
        "0.5", "-0.5", "1e-400", "0x10", "0o17", "1_000", "NaN", "nan", ".nan", ".inf", "-.inf", "inf", "+5", "00",
        "1:30", "1:0:0:0:0:0:0:0:0:0:0:0", "9223372036854775807:0", "",
    ]

    /// Fragments that mean something to JSON or YAML.
    static let tokens = [
        "{", "}", "[", "]", ",", ":", "\"", "'", "\\", "\\u0000", "\\ud800", "null", "true", "-", "- ", "? ", "&a ", "*a",
        "!!str ", "!tag ", "%YAML 1.1\n---\n", "---\n", "...\n", "#", "\n", "\t", "  ", "|\n", ">\n", "<<: *a\n",
        "\u{0}", "\u{FEFF}", "é", "\u{10FFFF}", "\"__metadata__\"", "\"dtype\":\"F32\"", "\"shape\":[1,1]",
        "\"data_offsets\":[0,4]", "\"format\"", "\"rnntrain\"",
    ]

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.below(rng.chance(0.2) ? 8 : 2)) { bytes = mutateOnce(bytes) }
        return bytes
    }

    mutating func mutateOnce(_ input: [UInt8]) -> [UInt8] { mutateOnceCase(input, rng.below(16)) }
    mutating func mutateOnceCase(_ input: [UInt8], _ which: Int) -> [UInt8] {
        var bytes = input
        let n = bytes.count
        switch which {
        case 0, 1:  // flip one to eight bits
            guard n > 0 else { break }
            for _ in 0..<(1 + rng.below(8)) { bytes[rng.below(n)] ^= 1 << UInt8(rng.below(8)) }
        case 2:  // set a byte to a value with meaning
            guard n > 0 else { break }
            bytes[rng.below(n)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x0a, 0x20, 0x22, 0x2c, 0x3a, 0x5b, 0x7b, 0x5d, 0x7d, 0x2d, 0x30, 0x39, 0xc3])
        case 3:  // insert random bytes
            let count = 1 + rng.below(16)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: rng.below(n + 1))
        case 4:  // delete a range
            guard n > 0 else { break }
            let start = rng.below(n)
            bytes.removeSubrange(start..<min(n, start + 1 + rng.below(rng.chance(0.5) ? 4 : 64)))
        case 5:  // truncate
            bytes.removeLast(n == 0 ? 0 : rng.below(n + 1))
        case 6:  // duplicate a range somewhere else
            guard n > 0 else { break }
            let start = rng.below(n)
            let chunk = Array(bytes[start..<min(n, start + 1 + rng.below(64))])
            bytes.insert(contentsOf: chunk, at: rng.below(n + 1))
        case 7:  // splice: our prefix, another input's suffix
            let other = rng.pick(corpus)
            bytes = Array(bytes.prefix(rng.below(n + 1))) + Array(other.suffix(rng.below(other.count + 1)))
        case 8, 9:  // replace a number by one a reader must survive
            bytes = replaceNumber(bytes)
        case 10:  // insert a token of JSON or YAML
            bytes.insert(contentsOf: Array(rng.pick(Self.tokens).utf8), at: rng.below(n + 1))
        case 11:  // duplicate a JSON member or YAML line ("key": value, / key: value\n)
            bytes = duplicateMember(bytes)
        case 12:  // deep nesting
            // Deep enough to overflow a naive recursive parser's stack, but rarely: large
            // inputs cost the readers (and a debug build) time in proportion.
            let depth = large && rng.chance(0.1) ? rng.pick([10_000, 100_000]) : rng.pick([2, 5, 9, 17, 100, 1000])
            let open = rng.pick(["[", "{\"a\":", "- ", "a:\n ", "[{", "{a: "])
            var nest = Array(String(repeating: open, count: depth).utf8)
            if rng.chance(0.5), let close = ["[": "]", "{\"a\":": "}", "[{": "}]", "{a: ": "}"][open] {
                nest += Array("0".utf8) + Array(String(repeating: close, count: depth).utf8)
            }
            bytes.insert(contentsOf: nest, at: rng.below(n + 1))
        case 13:  // anchors and aliases, including the billion laughs
            bytes = insertAliases(bytes)
        case 14:  // a long run of one byte
            let count = large && rng.chance(0.1) ? 70_000 : rng.pick([100, 5000])
            bytes.insert(contentsOf: [UInt8](repeating: rng.pick([0x20, 0x30, 0x61, 0x5b, 0x22, 0x0a]), count: count), at: rng.below(n + 1))
        default:  // swap two ranges' bytes
            guard n > 1 else { break }
            let a = rng.below(n), b = rng.below(n)
            bytes.swapAt(a, b)
        }
        return bytes
    }

    /// Replaces a run of digits (with its sign, fraction and exponent), the first at or after a
    /// random place, by a number from `numbers`. Scans locally: a whole-input scan per mutation
    /// is what made a debug build slow.
    mutating func replaceNumber(_ bytes: [UInt8]) -> [UInt8] {
        let n = bytes.count
        guard n > 0 else { return bytes }
        let from = rng.below(n)
        var start = -1
        for k in 0..<n where isDigit(bytes[(from + k) % n]) {
            start = (from + k) % n
            break
        }
        guard start >= 0 else { return bytes }
        while start > 0, isDigit(bytes[start - 1]) { start -= 1 }
        if start > 0, bytes[start - 1] == UInt8(ascii: "-") { start -= 1 }
        var end = start + 1
        while end < n, isDigit(bytes[end]) || [0x2e, 0x65, 0x45, 0x2b, 0x2d, 0x5f].contains(bytes[end]) { end += 1 }
        var out = bytes
        out.replaceSubrange(start..<end, with: Array(rng.pick(Self.numbers).utf8))
        return out
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Copies the text between one separator (`,` `{` or newline) and the next `,` or newline
    /// right after itself: a JSON member or a YAML line appears twice.
    mutating func duplicateMember(_ bytes: [UInt8]) -> [UInt8] {
        let n = bytes.count
        guard n > 0 else { return bytes }
        func isSeparator(_ c: UInt8) -> Bool { c == 0x2c || c == 0x0a }
        var end = rng.below(n)
        while end < n, !isSeparator(bytes[end]) { end += 1 }
        guard end < n else { return bytes }
        var start = end
        while start > 0, !isSeparator(bytes[start - 1]), bytes[start - 1] != 0x7b { start -= 1 }
        var out = bytes
        out.insert(contentsOf: bytes[start...end], at: end + 1)
        return out
    }

    /// YAML anchors and aliases: a small one, or the billion laughs (9 levels of 10 aliases).
    mutating func insertAliases(_ bytes: [UInt8]) -> [UInt8] {
        let text: String
        if rng.chance(0.5) {
            var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            for level in 1..<10 {
                lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
            }
            lines.append(rng.chance(0.5) ? "? *a9\n: 1" : "train: *a9")
            text = lines.joined(separator: "\n") + "\n"
        } else {
            text = rng.pick(["train: &t {steps: 1}\nmodel: *t\n", "  hidden: &h 64\n  embedding: *h\n",
                             "optimizer:\n  <<: *o\n", "*a: 1\n", "x: !!python/object:os.system [ls]\n"])
        }
        var lineStart = rng.below(bytes.count + 1)
        while lineStart > 0, bytes[lineStart - 1] != 0x0a { lineStart -= 1 }
        var out = bytes
        out.insert(contentsOf: Array(text.utf8), at: lineStart)
        return out
    }
}
