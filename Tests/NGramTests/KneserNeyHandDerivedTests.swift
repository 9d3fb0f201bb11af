@testable import NGram
import TestSupport
import XCTest

/// A bigram model of four sentences, every number derived here by hand from the counts written
/// out below, with the formulas of Chen & Goodman, not by the code under test.
final class KneserNeyHandDerivedTests: XCTestCase {
    // Ids: <s> 0, </s> 1, <unk> 2, a 3, b 4, c 5, d 6 (never seen).
    private let (s, e, unk, a, b, c, d): (Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 1, 2, 3, 4, 5, 6)
    private let vocabulary = generatedVocabulary(size: 7)
    // "c c c a a", "c c", "a b a b", "c c"
    private var sentences: [[Int32]] { [[c, c, c, a, a], [c, c], [a, b, a, b], [c, c]] }

    // Bigrams, the highest order, keep their raw counts (17 = 13 words + 4 </s>):
    private var bigramCounts: [[Int32]: Double] {
        [[s, a]: 1,  // sentence 3
         [s, c]: 3,  // sentences 1, 2, 4
         [a, a]: 1,  // sentence 1
         [a, b]: 2,  // sentence 3, twice
         [a, e]: 1,  // sentence 1
         [b, a]: 1,  // sentence 3
         [b, e]: 1,  // sentence 3
         [c, a]: 1,  // sentence 1
         [c, c]: 4,  // sentence 1 twice, 2, 4
         [c, e]: 2]  // sentences 2, 4
    }
    // Unigrams get continuation counts, the distinct tokens before them; <s> gets 0:
    private var unigramCounts: [Int32: Double] {
        [a: 4,  // after <s>, a, b, c
         b: 1,  // after a
         c: 2,  // after <s>, c
         e: 3,  // </s> after a, b, c
         s: 0, unk: 0, d: 0]
    }

    /// D1, D2, D3+ from the count-of-counts t1…t4, Chen & Goodman's eq. 26.
    private func discounts(_ t: [Double]) -> [Double] {
        let y = t[0] / (t[0] + 2 * t[1])
        return [1 - 2 * y * t[1] / t[0], 2 - 3 * y * t[2] / t[1], 3 - 4 * y * t[3] / t[2]]
    }

    private func discount(_ count: Double, _ d: [Double]) -> Double { count == 0 ? 0 : d[min(Int(count), 3) - 1] }

    func testAdjustedCountsDiscountsProbabilitiesAndBackoffsMatchTheHandDerivation() throws {
        let counts = try NGramCounts(sentences: sentences, order: 2, vocabulary: vocabulary)
        let tables = try KneserNey.Tables(counts)
        for (i, token) in tables.grams[0].enumerated() {
            XCTAssertEqual(Double(tables.adjusted[0][i]), unigramCounts[token], "1-gram \(token)")
        }
        for i in 0..<counts.count(ofOrder: 2) {
            let gram = Array(tables.grams[1][2 * i..<2 * i + 2])
            XCTAssertEqual(Double(tables.adjusted[1][i]), bigramCounts[gram], "2-gram \(gram)")
        }
        XCTAssertEqual(counts.count(ofOrder: 2), bigramCounts.count)

        // 1-grams: b once, c twice, </s> three times, a four times → t = 1, 1, 1, 1:
        // Y = 1/3, D1 = 1/3, D2 = 1, D3+ = 5/3.
        let d1 = discounts([1, 1, 1, 1])
        // 2-grams: six once, two twice (a b, c </s>), one three times (<s> c), one four times (c c):
        // Y = 6/10, D1 = 0.6, D2 = 1.1, D3+ = 0.6.
        let d2 = discounts([6, 2, 1, 1])
        let estimated = try KneserNey.discounts(counts: counts)
        assertClose([estimated[0].one, estimated[0].two, estimated[0].threePlus], d1, relative: 1e-15)
        assertClose([estimated[1].one, estimated[1].two, estimated[1].threePlus], d2, relative: 1e-15)
        assertClose(d1, [1.0 / 3, 1, 5.0 / 3], relative: 1e-15)
        assertClose(d2, [0.6, 1.1, 0.6], relative: 1e-15)

        // Unigrams interpolate with the uniform distribution over the 6 tokens other than <s>.
        let total = unigramCounts.values.reduce(0, +)  // 10
        let gamma0 = unigramCounts.values.reduce(0) { $0 + discount($1, d1) } / total  // (1/3 + 1 + 2 · 5/3) / 10 = 7/15
        func unigram(_ w: Int32) -> Double {
            w == s ? 0 : max(unigramCounts[w]! - discount(unigramCounts[w]!, d1), 0) / total + gamma0 / 6
        }
        assertClose([a, b, c, e, unk, d].map(unigram), [28, 13, 16, 19, 7, 7].map { $0 / 90.0 }, relative: 1e-14)

        let model = try KneserNey.estimate(counts: counts)
        for w in [a, b, c, e, unk, d] {
            assertClose(model.log10Probability(of: w, after: []), log10(unigram(w)), relative: 1e-14, "p(\(w))")
        }
        XCTAssertEqual(model.log10Probability(of: s, after: []), -.infinity)

        for h in [s, a, b, c] {
            let following = bigramCounts.filter { $0.key[0] == h }
            let denominator = following.values.reduce(0, +)
            let gamma = following.values.reduce(0) { $0 + discount($1, d2) } / denominator
            assertClose(model.log10Backoff(of: [h])!, log10(gamma), relative: 1e-14, "backoff(\(h))")
            for w in [a, b, c, e, unk, d] {
                let count = bigramCounts[[h, w]] ?? 0
                let p = max(count - discount(count, d2), 0) / denominator + gamma * unigram(w)
                assertClose(model.log10Probability(of: w, after: [h]), log10(p), relative: 1e-14, "p(\(w) | \(h))")
            }
        }
        // Two values spelled out: γ(<s>) = (D1 + D3+) / 4 = 0.3; p(c | <s>) = (3 − 0.6) / 4 + 0.3 · 16/90.
        assertClose(model.log10Backoff(of: [s])!, log10(0.3), relative: 1e-14)
        assertClose(model.log10Probability(of: c, after: [s]), log10(0.6 + 0.3 * 16 / 90), relative: 1e-14)
        // </s> and the unseen tokens are no context: backoff 0, so p(w | </s>) = p(w).
        XCTAssertEqual(model.log10Backoff(of: [e]), 0)
        XCTAssertEqual(model.log10Probability(of: a, after: [e]), model.log10Probability(of: a, after: []))
        XCTAssertEqual(model.storage.ngrams, [7, 10])
    }

    func testTooLittleDataIsAUserErrorNamingTheOrder() throws {
        // One sentence "a b": every count is 1, so no n-gram is seen exactly twice.
        let counts = try NGramCounts(sentences: [[a, b]], order: 2, vocabulary: vocabulary)
        assertUserError(try KneserNey.estimate(counts: counts),
                        mentions: ["order 1: too little data to estimate discounts (no n-gram seen exactly twice)"])
        // lmplz's --discount_fallback: the order that cannot be estimated takes the given discounts.
        let fallback = KneserNey.Discounts(one: 0.5, two: 1, threePlus: 1.5)
        XCTAssertEqual(try KneserNey.discounts(counts: counts, fallback: fallback)[0], fallback)
        let model = try KneserNey.estimate(counts: counts, fallback: fallback)
        XCTAssertEqual(model.distribution(after: [s]).reduce(0, +), 1, accuracy: 1e-12)
        // Orders beyond what the text supports fail on the first order that lacks data.
        let more = try NGramCounts(sentences: sentences, order: 3, vocabulary: vocabulary)
        assertUserError(try KneserNey.estimate(counts: more), mentions: ["order ", "data"])
    }
}
