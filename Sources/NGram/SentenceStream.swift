import Files

/// The stream n-gram counting reads, `<s> w1 … wk </s> <s> …`, built a piece at a time from a
/// text's token ids, so that a text memory-mapped from a prepared dataset is never copied whole.
///
/// In the source, the id of `</s>` ends a sentence and the next begins after it (the word
/// tokenizer's `<eos>` is `</s>`: one sentence per line); a source that does not end with `</s>`
/// gets one. A char or byte text holds no `</s>`, so it is one sentence. This is
/// `NGramCounts.stream(of:)` of the sentences split at `</s>` (the last one dropped when empty).
///
/// Each source token owns the counted tokens it stands for: itself, a `<s>` after a `</s>` that is
/// not the last token, the first `<s>` (token 0) and the last `</s>` (the last token). A piece
/// starts its n-grams at the counted tokens its source range owns, so any cut of the source into
/// pieces counts every n-gram once.
public struct SentenceStream {
    /// Source tokens.
    public let count: Int
    public let vocabulary: NGramVocabulary
    /// Writes source tokens `range` to the pointer (a `TokenStream`'s `copy`, or a file read).
    private let read: (Range<Int>, UnsafeMutablePointer<Int32>) throws -> Void

    public init(count: Int, vocabulary: NGramVocabulary,
                read: @escaping (Range<Int>, UnsafeMutablePointer<Int32>) throws -> Void) {
        self.count = count
        self.vocabulary = vocabulary
        self.read = read
    }

    /// The counted tokens that source tokens `start..<end` own, then up to `lookahead` counted
    /// tokens after them: `NGramCounts(stream: tokens[...], startingAt: 0..<owned, ...)` counts the
    /// n-grams that start in that range. `end` ≤ `limit` is as far as the owned tokens stay within
    /// `maximum` (one source token at least, when `start < limit`). Reads at most `maximum` +
    /// `lookahead` source tokens. Throws a UserError naming the source position of an id outside
    /// the vocabulary or of a `<s>`.
    public func piece(from start: Int, to limit: Int, owning maximum: Int,
                      lookahead: Int) throws -> (tokens: [Int32], owned: Int, end: Int) {
        precondition(0 <= start && start <= limit && limit <= count && maximum > 0, "a piece beyond the source")
        let furthest = limit - start <= maximum ? limit : start + maximum
        let readEnd = min(count, furthest + lookahead)
        let source = try [Int32](unsafeUninitializedCapacity: readEnd - start) { buffer, initialized in
            if readEnd > start { try read(start..<readEnd, buffer.baseAddress!) }
            initialized = readEnd - start
        }
        let size = Int32(vocabulary.size), first = vocabulary.sentenceStart, stop = vocabulary.sentenceEnd
        var tokens: [Int32] = []
        tokens.reserveCapacity(min(maximum, source.count + source.count / 4 + 2) + lookahead)
        // nil while the tokens read are still owned.
        var owned: Int? = start == furthest ? 0 : nil
        var end = furthest
        for (k, id) in source.enumerated() {
            let i = start + k
            guard (0..<size).contains(id), id != first else {
                throw UserError("token \(i): id \(id) is \(id == first ? "<s>, which only the counting adds" : "not in 0..<\(size)")")
            }
            let before = tokens.count
            if i == 0 { tokens.append(first) }
            tokens.append(id)
            if id == stop, i < count - 1 { tokens.append(first) }
            if i == count - 1, id != stop { tokens.append(stop) }
            if owned == nil {
                if tokens.count > maximum, i > start {
                    (owned, end) = (before, i)
                } else if i + 1 == furthest {
                    owned = tokens.count
                }
            }
            if let owned, tokens.count >= owned + lookahead { break }
        }
        let kept = owned ?? tokens.count
        tokens.removeLast(max(0, tokens.count - kept - lookahead))
        return (tokens, kept, end)
    }

    /// Whether the source holds at least `n` tokens other than `</s>` (the sentences' words);
    /// reads only as far as it takes to find them.
    public func hasWords(atLeast n: Int) throws -> Bool {
        var found = 0, done = 0
        let chunk = 1 << 16
        var buffer = [Int32](repeating: 0, count: chunk)
        while found < n, done < count {
            let m = min(chunk, count - done)
            try buffer.withUnsafeMutableBufferPointer { try read(done..<done + m, $0.baseAddress!) }
            found += buffer[..<m].reduce(0) { $0 + ($1 == vocabulary.sentenceEnd ? 0 : 1) }
            done += m
        }
        return found >= n
    }
}
