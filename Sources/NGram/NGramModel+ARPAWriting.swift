extension NGramModel {
    /// Bytes `writeARPA` hands over at a time: the file is never held whole (a 5-gram model of a
    /// large corpus writes hundreds of MB), and a megabyte keeps the writes few.
    public static let arpaChunkBytes = 1 << 20

    /// Writes the model as an ARPA file to `emit`, in chunks of about `arpaChunkBytes`: `\data\`,
    /// one `ngram n=count` line per order, then per order a `\n-grams:` section of
    /// `log10prob<TAB>w1 w2 …[<TAB>log10backoff]` lines, n-grams sorted by token id, and `\end\`. A
    /// backoff is written for each n-gram that is a context of a longer one; the probability 0 of
    /// <s> is written −99, as SRILM and KenLM write it. Numbers are in the shortest form that reads
    /// back as the same Double, so the file loses nothing. `names` are the words by token id (see
    /// `ARPAVocabulary` for what is refused); they are checked before anything is emitted.
    public func writeARPA(words names: [String], to emit: ([UInt8]) throws -> Void) throws {
        _ = try ARPAVocabulary(names, vocabulary: vocabulary)
        let nameBytes = names.map { Array($0.utf8) }
        var out = Array("\\data\\\n".utf8)
        out.reserveCapacity(Self.arpaChunkBytes + 4096)
        for n in 1...order { out += Array("ngram \(n)=\(words[n - 1].count)\n".utf8) }
        // The n-grams of order n, `[count_n × n]`, flat: an array per n-gram would take several
        // times their bytes.
        var rows = Array(0..<Int32(vocabulary.size))
        for n in 1...order {
            out += Array("\n\\\(n)-grams:\n".utf8)
            for i in 0..<words[n - 1].count {
                out += Self.number(log10Probabilities[n - 1][i])
                out.append(0x09)
                for k in 0..<n {
                    if k > 0 { out.append(0x20) }
                    out += nameBytes[Int(rows[i * n + k])]
                }
                if n < order, childStart[n - 1][i] < childStart[n - 1][i + 1] {
                    out.append(0x09)
                    out += Self.number(log10Backoffs[n - 1][i])
                }
                out.append(0x0A)
                if out.count >= Self.arpaChunkBytes {
                    try emit(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            if n < order {
                var next: [Int32] = []
                next.reserveCapacity(words[n].count * (n + 1))
                for i in 0..<words[n - 1].count {
                    for child in Int(childStart[n - 1][i])..<Int(childStart[n - 1][i + 1]) {
                        next += rows[i * n..<(i + 1) * n]
                        next.append(words[n][child])
                    }
                }
                rows = next
            }
        }
        out += Array("\n\\end\\\n".utf8)
        try emit(out)
    }

    /// Swift's shortest round-trip form; −∞ (probability 0) as −99.
    private static func number(_ value: Double) -> [UInt8] {
        value == -.infinity ? Array("-99".utf8) : Array(value.description.utf8)
    }
}
