import Foundation

/// A backoff n-gram model, as an ARPA file holds it: for every kept n-gram its log10
/// probability, for every n-gram that is a context of a longer one its log10 backoff. An unseen
/// word w after h gets backoff(h) · p(w | h′), h′ being h without its first word, recursively;
/// a context that is not kept backs off with weight 1.
///
/// Stored as a trie in sorted arrays, like KenLM's trie: the 1-grams are every token id, in
/// order, so a 1-gram's index is its token; the (n+1)-grams extending n-gram i are the contiguous
/// entries `childStart[n − 1][i] ..< childStart[n − 1][i + 1]` of order n + 1, sorted by their
/// last word. A lookup is one binary search per word among siblings; every kept n-gram's context
/// is a kept n-gram (KenLM requires it too).
public struct NGramModel: Equatable, Sendable {
    public let order: Int
    public let vocabulary: NGramVocabulary
    /// Index n − 1, `[count_n]`: the last word of each n-gram.
    let words: [[Int32]]
    /// Index n − 1 for n < order, `[count_n + 1]`: where the children of each n-gram begin.
    let childStart: [[UInt32]]
    /// Index n − 1, `[count_n]`: log10 p(w | h); −∞ for <s>, which is never predicted.
    let log10Probabilities: [[Double]]
    /// Index n − 1 for n < order, `[count_n]`: log10 backoff; 0 for n-grams that are no context.
    let log10Backoffs: [[Double]]
    /// `[V]`: the unigram probabilities, where `distribution(after:)` starts.
    private let unigramProbabilities: [Double]

    /// Builds the trie from full n-grams: `grams[n − 1]` is `[count_n × n]`, rows sorted
    /// lexicographically and distinct, `grams[0]` every token id in order; every row's
    /// (n − 1)-prefix must be a row of order n − 1 (callers check it with `prefixIndices`).
    init(vocabulary: NGramVocabulary, grams: [[Int32]], log10Probabilities: [[Double]], log10Backoffs: [[Double]]) {
        let order = grams.count
        precondition(grams[0].count == vocabulary.size && log10Probabilities.count == order
                     && log10Backoffs.count == order - 1)
        var childStart: [[UInt32]] = []
        for n in stride(from: 2, through: order, by: 1) {
            let parents = prefixIndices(grams[n - 1], n, in: grams[n - 2])
            precondition(parents.missing == nil, "an n-gram without its context")
            var starts = [UInt32](repeating: 0, count: grams[n - 2].count / (n - 1) + 1)
            for parent in parents.indices { starts[Int(parent) + 1] += 1 }
            for i in 1..<starts.count { starts[i] += starts[i - 1] }
            childStart.append(starts)
        }
        self.order = order
        self.vocabulary = vocabulary
        words = grams.enumerated().map { index, rows in
            stride(from: index, to: rows.count, by: index + 1).map { rows[$0] }
        }
        self.childStart = childStart
        self.log10Probabilities = log10Probabilities
        self.log10Backoffs = log10Backoffs
        unigramProbabilities = log10Probabilities[0].map { pow(10, $0) }
    }

    /// log10 p(word | context), from the last order − 1 tokens of `context` (fewer at the start of
    /// a text): the longest kept n-gram ending in `word`, plus the backoffs of the longer contexts
    /// that are kept. −∞ for <s>. Ids must be in 0..<V.
    public func log10Probability(of word: Int32, after context: ArraySlice<Int32>) -> Double {
        precondition((0..<Int32(vocabulary.size)).contains(word), "token id \(word) outside the vocabulary")
        let history = context.suffix(order - 1)
        var backoff = 0.0
        for length in stride(from: history.count, through: 0, by: -1) {
            guard let node = node(history.suffix(length)) else { continue }
            if let child = child(of: node, length, word) { return backoff + log10Probabilities[length][child] }
            backoff += log10Backoffs[length - 1][node]
        }
        preconditionFailure("every token has a 1-gram")
    }

    /// The probability of every token after `context`, `[V]`, summing to 1 (<s> gets 0): the
    /// unigram distribution, scaled by each kept context's backoff and overwritten by the
    /// n-grams that extend it, from the shortest context to the longest.
    public func distribution(after context: ArraySlice<Int32>) -> [Double] {
        let history = context.suffix(order - 1)
        var probabilities = unigramProbabilities
        for length in stride(from: 1, through: history.count, by: 1) {
            guard let node = node(history.suffix(length)) else { continue }
            let backoff = log10Backoffs[length - 1][node]
            if backoff != 0 {
                let scale = pow(10, backoff)
                for w in probabilities.indices { probabilities[w] *= scale }
            }
            let children = Int(childStart[length - 1][node])..<Int(childStart[length - 1][node + 1])
            for child in children { probabilities[Int(words[length][child])] = pow(10, log10Probabilities[length][child]) }
        }
        return probabilities
    }

    /// log10 backoff of a kept n-gram of order < order (0 when it is no context), nil when the
    /// n-gram is not kept.
    public func log10Backoff(of gram: ArraySlice<Int32>) -> Double? {
        guard (1..<order).contains(gram.count), let node = node(gram) else { return nil }
        return log10Backoffs[gram.count - 1][node]
    }

    /// What the model holds, for comparing with the |V|^n of a full table.
    public struct Storage: Equatable, Sendable {
        /// Index n − 1: the kept n-grams of order n.
        public let ngrams: [Int]
        /// 8 bytes (a Double) per kept n-gram.
        public let probabilityBytes: Int
        /// 8 bytes per kept n-gram below the highest order.
        public let backoffBytes: Int
        /// The trie: 4 bytes of word per n-gram and 4 of child offset per n-gram below the highest order.
        public let indexBytes: Int
    }

    public var storage: Storage {
        let ngrams = words.map(\.count)
        let lower = ngrams.dropLast().reduce(0, +)
        return Storage(ngrams: ngrams, probabilityBytes: 8 * ngrams.reduce(0, +), backoffBytes: 8 * lower,
                       indexBytes: 4 * ngrams.reduce(0, +) + 4 * (lower + order - 1))
    }

    /// The index of the kept n-gram `tokens` among those of its order, nil when it is not kept;
    /// the empty context is the root, node 0 of length 0 for `child`.
    private func node(_ tokens: ArraySlice<Int32>) -> Int? {
        guard let first = tokens.first else { return 0 }
        precondition((0..<Int32(vocabulary.size)).contains(first), "token id \(first) outside the vocabulary")
        var index = Int(first)
        var length = 1
        for token in tokens.dropFirst() {
            guard let next = child(of: index, length, token) else { return nil }
            index = next
            length += 1
        }
        return index
    }

    /// The index among the (length+1)-grams of n-gram `node` of order `length` followed by
    /// `word`; length 0 is the root, whose children are the 1-grams, one per token id.
    private func child(of node: Int, _ length: Int, _ word: Int32) -> Int? {
        if length == 0 { return Int(word) }
        guard length < order else { return nil }
        let siblings = words[length]
        var low = Int(childStart[length - 1][node]), high = Int(childStart[length - 1][node + 1])
        while low < high {
            let middle = (low + high) / 2
            if siblings[middle] < word { low = middle + 1 } else { high = middle }
        }
        return low < Int(childStart[length - 1][node + 1]) && siblings[low] == word ? low : nil
    }
}

/// For each row of `rows` `[count × n]` (n ≥ 2, sorted), the index of its (n − 1)-prefix among
/// `parents` `[· × (n − 1)]` (sorted): one walk through both, since sorted rows have sorted
/// prefixes. `missing` is the first row whose prefix is not there (the indices stop before it).
func prefixIndices(_ rows: [Int32], _ n: Int, in parents: [Int32]) -> (indices: [Int32], missing: Int?) {
    let count = rows.count / n, parentCount = parents.count / (n - 1)
    var indices: [Int32] = []
    indices.reserveCapacity(count)
    var p = 0
    for i in 0..<count {
        while p < parentCount, comparePrefix(rows, i, n, parents, p) > 0 { p += 1 }
        guard p < parentCount, comparePrefix(rows, i, n, parents, p) == 0 else { return (indices, i) }
        indices.append(Int32(p))
    }
    return (indices, nil)
}

/// Compares the (n − 1)-prefix of row i of `rows` `[· × n]` with row p of `parents` `[· × (n − 1)]`.
private func comparePrefix(_ rows: [Int32], _ i: Int, _ n: Int, _ parents: [Int32], _ p: Int) -> Int {
    for k in 0..<(n - 1) where rows[i * n + k] != parents[p * (n - 1) + k] {
        return rows[i * n + k] < parents[p * (n - 1) + k] ? -1 : 1
    }
    return 0
}

/// The index of `key` (n tokens) among `rows` `[· × n]` (sorted), by binary search.
func rowIndex(of key: ArraySlice<Int32>, in rows: [Int32], _ n: Int) -> Int? {
    var low = 0, high = rows.count / n
    while low < high {
        let middle = (low + high) / 2
        var order = 0
        for (k, token) in key.enumerated() where rows[middle * n + k] != token {
            order = rows[middle * n + k] < token ? -1 : 1
            break
        }
        if order == 0 { return middle }
        if order < 0 { low = middle + 1 } else { high = middle }
    }
    return nil
}
