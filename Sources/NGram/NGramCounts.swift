import Files

/// Every n-gram of orders 1…order in a text, with how often it occurs.
///
/// Sentences are counted as `<s> w1 … wk </s>`, as KenLM's lmplz does: no n-gram crosses a
/// sentence boundary, `<s>` only ever begins one and `</s>` only ever ends one.
///
/// Per order n the distinct n-grams are one flat array `[count_n × n]` of token ids, rows sorted
/// lexicographically, beside their occurrences `[count_n]`. Sorted runs are what makes counts
/// mergeable (`merged(with:)`) and deterministic: counting any split of a text into shards and
/// merging gives the same arrays, hence the same `serialized()` bytes, as counting it whole.
public struct NGramCounts: Equatable, Sendable {
    /// Orders beyond this are refused; 16 is far past where counts stop being informative.
    public static let maximumOrder = 16

    public let order: Int
    public let vocabulary: NGramVocabulary
    /// Index n − 1: the distinct n-grams, `[count_n × n]`, rows sorted lexicographically.
    public internal(set) var grams: [[Int32]]
    /// Index n − 1: how often each n-gram of `grams[n − 1]` occurs, `[count_n]`, each ≥ 1.
    public internal(set) var occurrences: [[UInt64]]

    /// The number of distinct n-grams of order n (1…order).
    public func count(ofOrder n: Int) -> Int { occurrences[n - 1].count }

    /// No n-grams yet: the start of a merge. Throws a UserError for an order outside 1…16.
    public init(order: Int, vocabulary: NGramVocabulary) throws {
        try Self.checkOrder(order)
        self.order = order
        self.vocabulary = vocabulary
        grams = Array(repeating: [], count: order)
        occurrences = Array(repeating: [], count: order)
    }

    /// Counts whole sentences (token ids without the boundary tokens, which are added here).
    public init(sentences: [[Int32]], order: Int, vocabulary: NGramVocabulary) throws {
        let stream = try Self.stream(of: sentences, vocabulary: vocabulary)
        try self.init(stream: stream[...], startingAt: stream.indices, order: order, vocabulary: vocabulary)
    }

    /// `<s> w1 … wk </s>` for every sentence, concatenated: what `init(stream:startingAt:...)`
    /// counts. Throws a UserError naming the sentence when one holds an id outside the vocabulary
    /// or one of the boundary tokens.
    public static func stream(of sentences: [[Int32]], vocabulary: NGramVocabulary) throws -> [Int32] {
        var stream: [Int32] = []
        stream.reserveCapacity(sentences.reduce(0) { $0 + $1.count + 2 })
        for (s, sentence) in sentences.enumerated() {
            for (i, id) in sentence.enumerated() {
                guard (0..<Int32(vocabulary.size)).contains(id) else {
                    throw UserError("sentence \(s), token \(i): id \(id) is not in 0..<\(vocabulary.size)")
                }
                guard id != vocabulary.sentenceStart, id != vocabulary.sentenceEnd else {
                    throw UserError("sentence \(s), token \(i): the boundary token \(id) inside a sentence")
                }
            }
            stream.append(vocabulary.sentenceStart)
            stream += sentence
            stream.append(vocabulary.sentenceEnd)
        }
        return stream
    }

    /// Counts the n-grams that START at the positions `starts` of `stream` (a concatenation of
    /// `<s> … </s>` sentences, or a piece of one), reading up to order − 1 tokens past
    /// `starts.upperBound`. A shard of a text is counted this way with `starts` its own range and
    /// `stream` reaching order − 1 tokens into the next shard (or to the end of the text): then
    /// every n-gram of the text is counted by exactly one shard, and the merge of the shards'
    /// counts equals the counts of the whole.
    ///
    /// One sort of the start positions by the order-long window that begins there serves every
    /// order, since sorting by a window also sorts by each of its prefixes: O(M log M · order)
    /// time for M positions, 9 bytes per position besides the result; a 1.1 M-token sentence is
    /// no harder than many short ones.
    public init(stream: ArraySlice<Int32>, startingAt starts: Range<Int>, order: Int,
                vocabulary: NGramVocabulary) throws {
        try self.init(order: order, vocabulary: vocabulary)
        precondition(starts.lowerBound >= stream.startIndex && starts.upperBound <= stream.endIndex,
                     "start positions outside the stream")
        let readEnd = min(stream.endIndex, starts.upperBound + order - 1)
        for p in starts.lowerBound..<readEnd where !(0..<Int32(vocabulary.size)).contains(stream[p]) {
            throw UserError("token \(p): id \(stream[p]) is not in 0..<\(vocabulary.size)")
        }
        let window = Self.windowLengths(stream, starts, order, vocabulary)
        let base = starts.lowerBound
        let sorted = stream.withUnsafeBufferPointer { t -> [Int] in
            let offset = base - stream.startIndex
            return (0..<starts.count).sorted { a, b in
                let la = Int(window[a]), lb = Int(window[b])
                for i in 0..<min(la, lb) where t[offset + a + i] != t[offset + b + i] {
                    return t[offset + a + i] < t[offset + b + i]
                }
                return la < lb
            }
        }
        stream.withUnsafeBufferPointer { t in
            let offset = base - stream.startIndex
            for n in 1...order {
                // A first pass counts the distinct n-grams, so that the arrays are allocated once, at
                // their size: what `NGramCounter`'s budget assumes.
                var distinct = 0
                var previous = -1
                for a in sorted where Int(window[a]) >= n {
                    let start = offset + a
                    if previous < 0 || !(0..<n).allSatisfy({ t[previous + $0] == t[start + $0] }) { distinct += 1 }
                    previous = start
                }
                var rows: [Int32] = []
                var counts: [UInt64] = []
                rows.reserveCapacity(distinct * n)
                counts.reserveCapacity(distinct)
                previous = -1
                for a in sorted where Int(window[a]) >= n {
                    let start = offset + a
                    if previous >= 0, (0..<n).allSatisfy({ t[previous + $0] == t[start + $0] }) {
                        counts[counts.count - 1] += 1
                    } else {
                        rows.append(contentsOf: t[start..<start + n])
                        counts.append(1)
                    }
                    previous = start
                }
                grams[n - 1] = rows
                occurrences[n - 1] = counts
            }
        }
    }

    /// Per start position, `[starts.count]`: the length of the longest n-gram (at most `order`)
    /// that begins there without crossing a sentence boundary.
    private static func windowLengths(_ stream: ArraySlice<Int32>, _ starts: Range<Int>, _ order: Int,
                                      _ vocabulary: NGramVocabulary) -> [UInt8] {
        starts.map { p in
            var length = 1
            while length < order, p + length < stream.endIndex, stream[p + length - 1] != vocabulary.sentenceEnd,
                  stream[p + length] != vocabulary.sentenceStart {
                length += 1
            }
            return UInt8(length)
        }
    }

    static func checkOrder(_ order: Int) throws {
        guard (1...maximumOrder).contains(order) else {
            throw UserError("n-gram order \(order): must be between 1 and \(maximumOrder)")
        }
    }
}
