import NGram

/// A second implementation of interpolated modified Kneser–Ney, written for clarity: dictionaries
/// of n-grams, the interpolation formula by recursion. Slow, and independent of the library's
/// sorted tables.
struct NaiveKneserNey {
    let order: Int
    let vocabulary: NGramVocabulary
    private var adjusted: [[Int32]: Double] = [:]
    private var discounts: [[Double]] = []
    /// Per context h: Σ_w a(hw) and Σ_w D(a(hw)).
    private var denominators: [[Int32]: Double] = [:]
    private var discounted: [[Int32]: Double] = [:]

    init(sentences: [[Int32]], order: Int, vocabulary: NGramVocabulary) {
        self.order = order
        self.vocabulary = vocabulary
        var raw: [[Int32]: Double] = [:]
        for sentence in sentences {
            let wrapped = [vocabulary.sentenceStart] + sentence + [vocabulary.sentenceEnd]
            for start in wrapped.indices {
                for n in 1...order where start + n <= wrapped.count { raw[Array(wrapped[start..<start + n]), default: 0] += 1 }
            }
        }
        var before: [[Int32]: Set<Int32>] = [:]
        for gram in raw.keys where gram.count >= 2 { before[Array(gram.dropFirst()), default: []].insert(gram[0]) }
        for (gram, count) in raw {
            if gram == [vocabulary.sentenceStart] {
                adjusted[gram] = 0
            } else if gram.count == order || gram[0] == vocabulary.sentenceStart {
                adjusted[gram] = count
            } else {
                adjusted[gram] = Double(before[gram]?.count ?? 0)
            }
        }
        for n in 1...order {
            var t = [Double](repeating: 0, count: 5)
            for (gram, a) in adjusted where gram.count == n && (1...4).contains(a) { t[Int(a)] += 1 }
            let y = t[1] / (t[1] + 2 * t[2])
            discounts.append([0, 1 - 2 * y * t[2] / t[1], 2 - 3 * y * t[3] / t[2], 3 - 4 * y * t[4] / t[3]])
        }
        for (gram, a) in adjusted {
            let context = Array(gram.dropLast())
            denominators[context, default: 0] += a
            discounted[context, default: 0] += discounts[gram.count - 1][min(Int(a), 3)]
        }
    }

    /// p(w | h) by the interpolation formula, h cut to its last order − 1 tokens.
    func probability(of w: Int32, after context: [Int32]) -> Double {
        let h = Array(context.suffix(order - 1))
        if h.isEmpty {
            guard w != vocabulary.sentenceStart else { return 0 }
            let a = adjusted[[w]] ?? 0
            let uniform = discounted[[]]! / denominators[[]]! / Double(vocabulary.size - 1)
            return (a - discounts[0][min(Int(a), 3)]) / denominators[[]]! + uniform
        }
        let lower = probability(of: w, after: Array(h.dropFirst()))
        guard let denominator = denominators[h] else { return lower }
        let a = adjusted[h + [w]] ?? 0
        let gamma = discounted[h]! / denominator
        return max(a - discounts[h.count][min(Int(a), 3)], 0) / denominator + gamma * lower
    }

    /// Every context of length 0 … order − 1 that occurs in the text.
    var contexts: [[Int32]] { adjusted.keys.filter { $0.count < order } + [[]] }
}
