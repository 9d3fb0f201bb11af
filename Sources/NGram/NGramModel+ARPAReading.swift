import Files

extension NGramModel {
    /// Longer lines are refused: 16 words of a word vocabulary and two numbers fit many times over.
    public static let maximumARPALineBytes = 1 << 16

    /// Reads an ARPA file over the token names `names` (the ids of <s>, </s>, <unk> are where
    /// those names are). The file is untrusted, so the parser is written by hand to bound what it
    /// does: the header's counts are checked against the file's size before anything is reserved
    /// for them, lines are at most `maximumARPALineBytes`, the order at most
    /// `NGramCounts.maximumOrder`, every section must hold exactly the count its header line
    /// announces. Unknown words, duplicate n-grams, an n-gram whose context is missing, a 1-gram
    /// list that lacks a word of `names`, anything but a number where one belongs, a NaN or an
    /// infinity (−inf too: SRILM and KenLM write a probability 0 as −99, which is read as the
    /// number it is, 10^−99, as KenLM reads it, so a text that meets it gets a finite loss) and
    /// a log10 probability above 0 are each a one-line UserError naming the line. The <s> 1-gram's
    /// probability is taken as 0 (−∞) whatever the file says: <s> is a context only, never
    /// predicted, and −∞ keeps it out of `distribution(after:)` at any temperature.
    public init(arpa bytes: [UInt8], words names: [String]) throws {
        let vocabulary = try ARPAVocabulary.vocabulary(of: names)
        let ids = try ARPAVocabulary(names, vocabulary: vocabulary).ids
        var lines = ARPALines(bytes)

        guard let first = try lines.nextNonBlank(), first.elementsEqual("\\data\\".utf8) else {
            throw lines.fail("expected \\data\\")
        }
        var announced: [Int] = []
        var line = try lines.nextNonBlank()
        while let header = line, header.starts(with: "ngram ".utf8) {
            let field = header.dropFirst(6)
            guard let equals = field.firstIndex(of: UInt8(ascii: "=")), let n = decimal(field[..<equals]),
                  let count = decimal(field[(equals + 1)...]) else {
                throw lines.fail("expected \"ngram <order>=<count>\"")
            }
            guard n == announced.count + 1 else { throw lines.fail("order \(n) announced after order \(announced.count)") }
            guard n <= NGramCounts.maximumOrder else {
                throw lines.fail("order \(n), more than the \(NGramCounts.maximumOrder) supported")
            }
            // An entry of order n takes at least 2n + 2 bytes ("0 a b\n").
            let least = announced.enumerated().reduce(0) { $0 + $1.element * (2 * $1.offset + 4) }
            guard count >= 1, count <= (bytes.count - least) / (2 * n + 2) else {
                throw lines.fail("\(count) \(n)-grams announced, which a file of \(bytes.count) bytes cannot hold")
            }
            announced.append(count)
            line = try lines.nextNonBlank()
        }
        guard !announced.isEmpty else { throw lines.fail("expected \"ngram 1=<count>\"") }
        let order = announced.count

        var grams: [[Int32]] = [], probabilities: [[Double]] = [], backoffs: [[Double]] = []
        for n in 1...order {
            guard let header = line, header.elementsEqual("\\\(n)-grams:".utf8) else {
                throw lines.fail("expected \\\(n)-grams:")
            }
            var section = ARPASection(n: n, capacity: announced[n - 1])
            line = try lines.nextNonBlank()
            while let entry = line, entry.first != UInt8(ascii: "\\") {
                guard section.lines.count < announced[n - 1] else {
                    throw lines.fail("more \(n)-grams than the \(announced[n - 1]) announced")
                }
                try section.append(entry, highest: n == order, ids: ids, lines: lines)
                line = try lines.nextNonBlank()
            }
            guard section.lines.count == announced[n - 1] else {
                throw lines.fail("\(section.lines.count) \(n)-grams where \(announced[n - 1]) were announced")
            }
            try section.sort(names)
            if n == 1, section.rows.count != vocabulary.size {
                let missing = zip(0..., section.rows + [-1]).first { $0 != Int($1) }!.0
                throw lines.fail("the 1-grams lack the word \(JSON.quotedShort(names[missing]))")
            }
            if n > 1, let row = prefixIndices(section.rows, n, in: grams[n - 2]).missing {
                let words = section.rows[row * n..<(row + 1) * n].map { names[Int($0)] }
                throw UserError("ARPA line \(section.lines[row]): \(n)-gram \(JSON.quotedShort(words.joined(separator: " "))) "
                                + "has no context \(JSON.quotedShort(words.dropLast().joined(separator: " "))) among the \(n - 1)-grams")
            }
            if n == 1 { section.probabilities[Int(vocabulary.sentenceStart)] = -.infinity }
            grams.append(section.rows)
            probabilities.append(section.probabilities)
            if n < order { backoffs.append(section.backoffs) }
        }
        guard let end = line, end.elementsEqual("\\end\\".utf8) else { throw lines.fail("expected \\end\\") }
        guard try lines.nextNonBlank() == nil else { throw lines.fail("text after \\end\\") }
        self.init(vocabulary: vocabulary, grams: grams, log10Probabilities: probabilities, log10Backoffs: backoffs)
    }
}

/// A decimal count of at most 12 digits (ARPA counts beyond 10^12 are refused by the size check anyway).
private func decimal(_ text: ArraySlice<UInt8>) -> Int? {
    guard (1...12).contains(text.count), text.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
    return text.reduce(0) { $0 * 10 + Int($1 - 0x30) }
}

/// The lines of an ARPA file, numbered from 1, each checked for length as it is cut.
struct ARPALines {
    let bytes: [UInt8]
    var position = 0
    var number = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ why: String) -> UserError {
        UserError(position >= bytes.count && number == 0 ? "ARPA file: empty" : "ARPA line \(number): \(why)")
    }

    /// The next line that holds more than spaces and tabs, without its line end (LF or CRLF); nil at the end.
    mutating func nextNonBlank() throws -> ArraySlice<UInt8>? {
        while position < bytes.count {
            let start = position
            let limit = min(bytes.count, start + NGramModel.maximumARPALineBytes + 2)
            var end = start
            while end < limit, bytes[end] != 0x0A { end += 1 }
            number += 1
            var line = bytes[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            guard line.count <= NGramModel.maximumARPALineBytes else {
                throw fail("longer than \(NGramModel.maximumARPALineBytes) bytes")
            }
            position = end + 1
            let content = line.drop { $0 == 0x20 || $0 == 0x09 }
            if !content.isEmpty { return line }
        }
        return nil
    }
}

/// The entries of one `\n-grams:` section, in file order until `sort`.
private struct ARPASection {
    let n: Int
    var rows: [Int32] = []
    var probabilities: [Double] = []
    var backoffs: [Double] = []
    /// The line each entry came from, for messages.
    var lines: [Int] = []

    init(n: Int, capacity: Int) {
        self.n = n
        rows.reserveCapacity(capacity * n)
        probabilities.reserveCapacity(capacity)
        backoffs.reserveCapacity(capacity)
        lines.reserveCapacity(capacity)
    }

    mutating func append(_ line: ArraySlice<UInt8>, highest: Bool, ids: [[UInt8]: Int32], lines: ARPALines) throws {
        let fields = line.split { $0 == 0x20 || $0 == 0x09 }
        guard fields.count == n + 1 || (!highest && fields.count == n + 2) else {
            throw lines.fail("expected a log10 probability, \(n) word\(n == 1 ? "" : "s")"
                             + (highest ? "" : " and maybe a backoff") + ", found \(fields.count) fields")
        }
        let probability = try Self.number(fields[0], probability: true, lines)
        guard probability <= 0 else { throw lines.fail("log10 probability \(probability) is above 0") }
        for word in fields[1...n] {
            guard let id = ids[Array(word)] else {
                throw lines.fail("unknown word \(JSON.quotedShort(String(decoding: word, as: UTF8.self)))")
            }
            rows.append(id)
        }
        probabilities.append(probability)
        backoffs.append(fields.count == n + 2 ? try Self.number(fields[n + 1], probability: false, lines) : 0)
        self.lines.append(lines.number)
    }

    /// A finite decimal number. A probability's refusal says how a probability 0 is written,
    /// since −inf is what a writer that does not know the convention would put there.
    private static func number(_ field: ArraySlice<UInt8>, probability: Bool, _ lines: ARPALines) throws -> Double {
        let text = String(decoding: field, as: UTF8.self)
        let numeric = field.allSatisfy { (0x30...0x39).contains($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 | 0x20 == 0x65 }
        guard numeric, let value = Double(text), value.isFinite else {
            throw lines.fail("\(JSON.quotedShort(text)) is not a finite number"
                             + (probability ? " (a probability 0 is written -99, as SRILM and KenLM write it)" : ""))
        }
        return value
    }

    /// Puts the entries in token order; a repeated n-gram is an error naming both lines.
    mutating func sort(_ names: [String]) throws {
        let n = self.n, rows = self.rows
        let order = (0..<lines.count).sorted { a, b in
            let c = compareRows(rows, a, rows, b, n)
            return c != 0 ? c < 0 : a < b
        }
        for (a, b) in zip(order, order.dropFirst()) where compareRows(rows, a, rows, b, n) == 0 {
            let words = rows[b * n..<(b + 1) * n].map { names[Int($0)] }.joined(separator: " ")
            throw UserError("ARPA line \(lines[b]): duplicate \(n)-gram \(JSON.quotedShort(words)) (first at line \(lines[a]))")
        }
        self.rows = order.flatMap { rows[$0 * n..<($0 + 1) * n] }
        probabilities = order.map { probabilities[$0] }
        backoffs = order.map { backoffs[$0] }
        lines = order.map { lines[$0] }
    }
}
