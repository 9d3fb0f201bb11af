import Files

extension NGramModel {
    /// The words of an ARPA file's `\1-grams:` section, in file order: the vocabulary of a file
    /// another tool wrote (KenLM's `lmplz`, SRILM), which comes without rnntrain's `words.txt`.
    /// Only that section is looked at, line by line under the reader's line bound; the caller
    /// orders the words into token ids and reads the whole file with `init(arpa:words:)`, which
    /// checks the rest. A 1-gram without a word, a word listed twice, or no `\1-grams:` section →
    /// a one-line UserError naming the line.
    public static func arpaUnigrams(_ bytes: [UInt8]) throws -> [String] {
        var lines = ARPALines(bytes)
        while let line = try lines.nextNonBlank() {
            guard line.elementsEqual("\\1-grams:".utf8) else { continue }
            var words: [String] = [], seen: Set<ArraySlice<UInt8>> = []
            while let entry = try lines.nextNonBlank(), entry.first != UInt8(ascii: "\\") {
                let fields = entry.split { $0 == 0x20 || $0 == 0x09 }
                guard fields.count >= 2 else { throw lines.fail("expected a log10 probability and a word") }
                guard seen.insert(fields[1]).inserted else {
                    throw lines.fail("duplicate 1-gram \(JSON.quotedShort(String(decoding: fields[1], as: UTF8.self)))")
                }
                words.append(String(decoding: fields[1], as: UTF8.self))
            }
            return words
        }
        throw lines.fail("no \\1-grams: section")
    }
}
