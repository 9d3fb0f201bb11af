@testable import NGram
import TestSupport
import XCTest

final class NGramModelTests: XCTestCase {
    private let vocabulary = generatedVocabulary(size: 30)
    private var sentences: [[Int32]] { generatedSentences(seed: 21, sentences: 300, maxLength: 12, vocabulary: vocabulary.size) }

    func testDistributionsSumToOneAndEqualTheNaiveInterpolation() throws {
        var rng = SplitMix(seed: 9)
        for order in [3, 4, 5] {
            let model = try KneserNey.estimate(counts: NGramCounts(sentences: sentences, order: order, vocabulary: vocabulary))
            let naive = NaiveKneserNey(sentences: sentences, order: order, vocabulary: vocabulary)
            // Every context in the text, and some random ones (mostly unseen, some longer than order − 1).
            let random = (0..<50).map { _ in (0..<rng.below(order + 2)).map { _ in Int32(rng.below(vocabulary.size)) } }
            for context in naive.contexts + random {
                let distribution = model.distribution(after: context[...])
                assertClose(distribution.reduce(0, +), 1, absolute: 1e-9, "order \(order), sum after \(context)")
                let expected = (0..<Int32(vocabulary.size)).map { naive.probability(of: $0, after: context) }
                assertClose(distribution, expected, relative: 1e-12, "order \(order), after \(context)")
                let logs = (0..<Int32(vocabulary.size)).map { model.log10Probability(of: $0, after: context[...]) }
                assertClose(logs.map { pow(10, $0) }, expected, relative: 1e-12, "order \(order), log10 after \(context)")
            }
            XCTAssertEqual(model.log10Probability(of: vocabulary.sentenceStart, after: [3, 4]), -.infinity)
        }
    }

    func testCountsMergedFromShardsEstimateTheSameARPABytes() throws {
        let names = ["<s>", "</s>", "<unk>"] + (3..<vocabulary.size).map { "w\($0)" }
        let stream = try NGramCounts.stream(of: sentences, vocabulary: vocabulary)
        let order = 4
        let whole = try KneserNey.estimate(counts: NGramCounts(sentences: sentences, order: order, vocabulary: vocabulary))
            .arpa(words: names)
        var rng = SplitMix(seed: 17)
        for cuts in [2, 3, 4] {
            let bounds = [0] + (0..<cuts).map { _ in rng.below(stream.count + 1) }.sorted() + [stream.count]
            var merged = try NGramCounts(order: order, vocabulary: vocabulary)
            for (from, to) in zip(bounds, bounds.dropFirst()) {
                let shard = try NGramCounts(stream: stream[from..<min(stream.count, to + order - 1)], startingAt: from..<to,
                                            order: order, vocabulary: vocabulary)
                // Through bytes, as between ranks.
                merged = try merged.merged(with: NGramCounts(serialized: shard.serialized()))
            }
            XCTAssertEqual(try KneserNey.estimate(counts: merged).arpa(words: names), whole, "cuts \(bounds)")
        }
    }

    func testStorageCountsTheKeptNGrams() throws {
        let counts = try NGramCounts(sentences: sentences, order: 3, vocabulary: vocabulary)
        let storage = try KneserNey.estimate(counts: counts).storage
        // Every token is a 1-gram, seen or not; the higher orders keep every n-gram counted.
        XCTAssertEqual(storage.ngrams, [vocabulary.size, counts.count(ofOrder: 2), counts.count(ofOrder: 3)])
        let total = storage.ngrams.reduce(0, +)
        XCTAssertEqual(storage.probabilityBytes, 8 * total)
        XCTAssertEqual(storage.backoffBytes, 8 * (total - storage.ngrams[2]))
    }
}
