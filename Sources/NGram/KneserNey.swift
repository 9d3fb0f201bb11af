import Files
import Foundation

/// Interpolated modified Kneser–Ney smoothing (Chen & Goodman 1998), the estimator of KenLM's
/// lmplz (with its default `--interpolate_unigrams`) and SRILM's `-kndiscount -interpolate`.
///
/// Adjusted counts a: the highest order keeps the raw counts; a lower-order n-gram gets its
/// continuation count N1+(• g), the number of distinct tokens seen before it, except one that
/// begins with <s>, before which nothing can stand, so it keeps its raw count; the 1-gram <s>
/// gets 0, as it is never predicted. Per order, D1, D2, D3+ come from the count-of-counts of the
/// adjusted counts (Chen & Goodman's eq. 26), and
///
///     p(w | h) = max(a(hw) − D(a(hw)), 0) / a(h•) + γ(h) · p(w | h′),
///     γ(h) = (D1 · N1(h•) + D2 · N2(h•) + D3+ · N3+(h•)) / a(h•),
///
/// with h′ = h without its first token and, below the 1-grams, the uniform distribution over the
/// V − 1 tokens other than <s> (so <unk> and tokens never seen get only the uniform share).
/// Every n-gram of the counts is kept, so every context of a kept n-gram is kept; γ(h) is stored
/// as the backoff of h, and as p(w | h) = γ(h) · p(w | h′) whenever a(hw) = 0, the backoff model
/// gives exactly the interpolated probabilities.
public enum KneserNey {
    /// The discounts of one order.
    public struct Discounts: Equatable, Sendable {
        public let one: Double
        public let two: Double
        public let threePlus: Double

        public init(one: Double, two: Double, threePlus: Double) {
            self.one = one
            self.two = two
            self.threePlus = threePlus
        }

        /// lmplz's `--discount_fallback` default.
        public static let lmplzFallback = Discounts(one: 0.5, two: 1, threePlus: 1.5)

        /// D(a): 0 for a = 0 (a 1-gram never seen), else D1, D2 or D3+.
        public func callAsFunction(_ count: UInt64) -> Double {
            switch count {
            case 0: 0
            case 1: one
            case 2: two
            default: threePlus
            }
        }
    }

    /// Estimates the model of `counts`, which must be the counts of a whole text (sentences
    /// wrapped in <s> … </s>, or the merge of every shard of it). Throws a UserError naming the
    /// order when its discounts cannot be estimated, and when the counts of adjacent orders do not
    /// belong together (an n-gram whose prefix or suffix is missing). With `fallback`, an order
    /// whose discounts cannot be estimated uses those instead, as lmplz's `--discount_fallback`
    /// does (character models need it: over 65 characters the 1-grams' continuation counts are
    /// large, and Tiny Shakespeare's give D3+ < 0).
    public static func estimate(counts: NGramCounts, fallback: Discounts? = nil) throws -> NGramModel {
        let tables = try Tables(counts)
        let discounts = try Self.discounts(tables, fallback: fallback)
        let vocabulary = counts.vocabulary
        var probabilities: [[Double]] = []
        var log10Backoffs: [[Double]] = []

        let unigrams = tables.adjusted[0]
        let total = Double(unigrams.reduce(0, +))
        let uniform = unigrams.reduce(0.0) { $0 + discounts[0]($1) } / total / Double(vocabulary.predictedCount)
        probabilities.append(unigrams.enumerated().map { w, a in
            Int32(w) == vocabulary.sentenceStart ? 0 : max(Double(a) - discounts[0](a), 0) / total + uniform
        })

        for n in stride(from: 2, through: counts.order, by: 1) {
            let adjusted = tables.adjusted[n - 1], suffixes = tables.suffixes[n - 1], lower = probabilities[n - 2]
            let parents = prefixIndices(tables.grams[n - 1], n, in: tables.grams[n - 2])
            if let row = parents.missing { throw inconsistent(n, tables.grams[n - 1], row, "prefix") }
            var p = [Double](repeating: 0, count: adjusted.count)
            var backoffs = [Double](repeating: 0, count: lower.count)
            var start = 0
            while start < adjusted.count {
                var end = start
                while end < adjusted.count, parents.indices[end] == parents.indices[start] { end += 1 }
                let denominator = Double(adjusted[start..<end].reduce(0, +))
                guard denominator > 0 else { throw inconsistent(n, tables.grams[n - 1], start, "count") }
                let gamma = adjusted[start..<end].reduce(0.0) { $0 + discounts[n - 1]($1) } / denominator
                for i in start..<end {
                    p[i] = max(Double(adjusted[i]) - discounts[n - 1](adjusted[i]), 0) / denominator
                        + gamma * lower[Int(suffixes[i])]
                }
                backoffs[Int(parents.indices[start])] = log10(gamma)
                start = end
            }
            probabilities.append(p)
            log10Backoffs.append(backoffs)
        }
        return NGramModel(vocabulary: vocabulary, grams: tables.grams, log10Probabilities: probabilities.map { $0.map(log10) },
                          log10Backoffs: log10Backoffs)
    }

    /// The discounts of every order of `counts`, as `estimate` uses them.
    public static func discounts(counts: NGramCounts, fallback: Discounts? = nil) throws -> [Discounts] {
        try discounts(Tables(counts), fallback: fallback)
    }

    private static func discounts(_ tables: Tables, fallback: Discounts?) throws -> [Discounts] {
        try tables.adjusted.enumerated().map { n, adjusted in
            do { return try discounts(of: adjusted, order: n + 1) } catch let error as UserError {
                guard let fallback else { throw error }
                return fallback
            }
        }
    }

    /// From the count-of-counts t1…t4 of the adjusted counts: Y = t1 / (t1 + 2 t2),
    /// D1 = 1 − 2Y t2/t1, D2 = 2 − 3Y t3/t2, D3+ = 3 − 4Y t4/t3. Like lmplz, refuses an order
    /// where t1, t2 or t3 is 0 (t4 = 0 just gives D3+ = 3) or a discount falls outside [0, k].
    static func discounts(of adjusted: [UInt64], order n: Int) throws -> Discounts {
        var t = [Double](repeating: 0, count: 5)
        for a in adjusted where (1...4).contains(a) { t[Int(a)] += 1 }
        for (k, times) in [(1, "once"), (2, "twice"), (3, "three times")] where t[k] == 0 {
            throw UserError("order \(n): too little data to estimate discounts (no n-gram seen exactly \(times))")
        }
        let y = t[1] / (t[1] + 2 * t[2])
        let d = (1...3).map { k in Double(k) - Double(k + 1) * y * t[k + 1] / t[k] }
        for (k, value) in zip(1..., d) where !(0...Double(k)).contains(value) {
            throw UserError("order \(n): discount D\(k == 3 ? "3+" : "\(k)") = \(value) is outside [0, \(k)] "
                            + "(too little or artificial data)")
        }
        return Discounts(one: d[0], two: d[1], threePlus: d[2])
    }

    private static func inconsistent(_ n: Int, _ rows: [Int32], _ row: Int, _ what: String) -> UserError {
        let gram = rows[row * n..<(row + 1) * n].map(String.init).joined(separator: " ")
        return UserError("n-gram counts do not belong together: the \(n)-gram \(gram) has no \(what) among the "
                         + "\(n - 1)-grams (were shards counted with an order − 1 overlap?)")
    }

    /// The counts rearranged for estimation: the 1-grams made dense (every token id, unseen ones
    /// with count 0), each n-gram's suffix located, the adjusted counts.
    struct Tables {
        /// As `NGramCounts.grams`, but index 0 is every token id.
        let grams: [[Int32]]
        /// Index n − 1 for n ≥ 2 (index 0 empty), `[count_n]`: the index of each n-gram's
        /// (n − 1)-suffix among the (n − 1)-grams.
        let suffixes: [[Int32]]
        /// Index n − 1, `[count_n]`, aligned with `grams`.
        let adjusted: [[UInt64]]

        init(_ counts: NGramCounts) throws {
            let order = counts.order, vocabulary = counts.vocabulary
            var grams = counts.grams
            grams[0] = Array(0..<Int32(vocabulary.size))
            var raw = counts.occurrences
            raw[0] = [UInt64](repeating: 0, count: vocabulary.size)
            for (token, c) in zip(counts.grams[0], counts.occurrences[0]) { raw[0][Int(token)] = c }

            var suffixes: [[Int32]] = [[]]
            for n in stride(from: 2, through: order, by: 1) {
                let rows = grams[n - 1]
                suffixes.append(try (0..<rows.count / n).map { i in
                    if n == 2 { return rows[2 * i + 1] }
                    guard let index = rowIndex(of: rows[i * n + 1..<(i + 1) * n], in: grams[n - 2], n - 1) else {
                        throw KneserNey.inconsistent(n, rows, i, "suffix")
                    }
                    return Int32(index)
                })
            }

            var adjusted = raw
            for n in stride(from: 1, to: order, by: 1) {
                var continuation = [UInt64](repeating: 0, count: raw[n - 1].count)
                for suffix in suffixes[n] { continuation[Int(suffix)] += 1 }
                for i in continuation.indices where grams[n - 1][i * n] != vocabulary.sentenceStart {
                    adjusted[n - 1][i] = continuation[i]
                }
            }
            adjusted[0][Int(vocabulary.sentenceStart)] = 0
            self.grams = grams
            self.suffixes = suffixes
            self.adjusted = adjusted
        }
    }
}
