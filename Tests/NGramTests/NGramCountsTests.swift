import Files
import TestSupport
@testable import NGram
import XCTest

final class NGramCountsTests: XCTestCase {
    private let vocabulary = generatedVocabulary(size: 9)

    /// Counts by brute force: every slice of every wrapped sentence.
    private func naiveCounts(_ sentences: [[Int32]], order: Int) -> [[Int32]: UInt64] {
        var counts: [[Int32]: UInt64] = [:]
        for sentence in sentences {
            let wrapped = [vocabulary.sentenceStart] + sentence + [vocabulary.sentenceEnd]
            for start in wrapped.indices {
                for n in 1...order where start + n <= wrapped.count {
                    counts[Array(wrapped[start..<start + n]), default: 0] += 1
                }
            }
        }
        return counts
    }

    private func dictionary(_ counts: NGramCounts) -> [[Int32]: UInt64] {
        var result: [[Int32]: UInt64] = [:]
        for n in 1...counts.order {
            for i in 0..<counts.count(ofOrder: n) {
                result[Array(counts.grams[n - 1][i * n..<(i + 1) * n])] = counts.occurrences[n - 1][i]
            }
        }
        return result
    }

    func testTinyCorpusCountsAreTheSlicesOfTheWrappedSentences() throws {
        // <s> 3 4 </s>, <s> 3 </s>: unigrams <s>×2, 3×2, 4, </s>×2; bigrams <s> 3×2, 3 4, 4 </s>, 3 </s>;
        // trigrams <s> 3 4, 3 4 </s>, <s> 3 </s>.
        let counts = try NGramCounts(sentences: [[3, 4], [3]], order: 3, vocabulary: vocabulary)
        XCTAssertEqual(counts.grams[0], [0, 1, 3, 4])
        XCTAssertEqual(counts.occurrences[0], [2, 2, 2, 1])
        XCTAssertEqual(counts.grams[1], [0, 3, 3, 1, 3, 4, 4, 1])
        XCTAssertEqual(counts.occurrences[1], [2, 1, 1, 1])
        XCTAssertEqual(counts.grams[2], [0, 3, 1, 0, 3, 4, 3, 4, 1])
        XCTAssertEqual(counts.occurrences[2], [1, 1, 1])
    }

    func testGeneratedCorpusCountsEqualBruteForceAndAreSorted() throws {
        let sentences = generatedSentences(seed: 7, sentences: 300, maxLength: 12, vocabulary: vocabulary.size)
        for order in [1, 2, 4, 6] {
            let counts = try NGramCounts(sentences: sentences, order: order, vocabulary: vocabulary)
            XCTAssertEqual(dictionary(counts), naiveCounts(sentences, order: order), "order \(order)")
            for n in 1...order {
                for i in 1..<max(1, counts.count(ofOrder: n)) {
                    XCTAssertLessThan(compareRows(counts.grams[n - 1], i - 1, counts.grams[n - 1], i, n), 0)
                }
            }
        }
    }

    /// Shards of the stream, each counting the n-grams that start in its range and reading
    /// order − 1 tokens into the next, merged in a few different groupings.
    func testShardCountsMergeIntoTheBytesOfTheWhole() throws {
        var sentences = generatedSentences(seed: 11, sentences: 200, maxLength: 15, vocabulary: vocabulary.size)
        sentences.append((0..<400).map { Int32(3 + $0 % 5) })  // one long sentence crossing cuts
        let stream = try NGramCounts.stream(of: sentences, vocabulary: vocabulary)
        var rng = SplitMix(seed: 3)
        for order in [1, 3, 5] {
            let whole = try NGramCounts(sentences: sentences, order: order, vocabulary: vocabulary).serialized()
            for cuts in [2, 3, 4] {
                for _ in 0..<5 {
                    let bounds = [0] + (0..<cuts).map { _ in rng.below(stream.count + 1) }.sorted() + [stream.count]
                    let shards = try zip(bounds, bounds.dropFirst()).map { from, to in
                        try NGramCounts(stream: stream[from..<min(stream.count, to + order - 1)], startingAt: from..<to,
                                        order: order, vocabulary: vocabulary)
                    }
                    var leftToRight = try NGramCounts(order: order, vocabulary: vocabulary)
                    for shard in shards { leftToRight = try leftToRight.merged(with: shard) }
                    XCTAssertEqual(leftToRight.serialized(), whole, "order \(order), cuts \(bounds)")
                    var rightToLeft = try NGramCounts(order: order, vocabulary: vocabulary)
                    for shard in shards.reversed() { rightToLeft = try shard.merged(with: rightToLeft) }
                    XCTAssertEqual(rightToLeft.serialized(), whole, "order \(order), cuts \(bounds), reversed")
                }
            }
        }
    }

    func testSerializedCountsRoundTripAndTruncationsAreRefused() throws {
        let sentences = generatedSentences(seed: 5, sentences: 20, maxLength: 6, vocabulary: vocabulary.size)
        let counts = try NGramCounts(sentences: sentences, order: 3, vocabulary: vocabulary)
        let bytes = counts.serialized()
        XCTAssertEqual(try NGramCounts(serialized: bytes), counts)
        for length in 0..<bytes.count {
            assertUserError(try NGramCounts(serialized: Array(bytes.prefix(length))), mentions: ["n-gram counts"])
        }
        assertUserError(try NGramCounts(serialized: bytes + [0]), mentions: ["1 bytes after"])
        // The 1-gram count (after the 32-byte header) made huge: refused before anything is allocated.
        var huge = bytes
        for k in 32..<40 { huge[k] = 0xFF }
        assertUserError(try NGramCounts(serialized: huge), mentions: ["more than the bytes left"])
        // The first two 1-grams swapped: out of order.
        var swapped = bytes
        for k in 0..<4 { swapped.swapAt(40 + k, 44 + k) }
        assertUserError(try NGramCounts(serialized: swapped), mentions: ["not after"])
    }

    func testOrdersVocabulariesAndTokensOutsideTheLimitsAreUserErrors() throws {
        assertUserError(try NGramCounts(order: 0, vocabulary: vocabulary), mentions: ["order 0", "1 and 16"])
        assertUserError(try NGramCounts(order: 17, vocabulary: vocabulary), mentions: ["order 17"])
        assertUserError(try NGramVocabulary(size: 5, sentenceStart: 0, sentenceEnd: 0, unknown: 2), mentions: ["different"])
        assertUserError(try NGramVocabulary(size: 5, sentenceStart: 0, sentenceEnd: 1, unknown: 5), mentions: ["<unk>"])
        assertUserError(try NGramCounts(sentences: [[3], [4, 9]], order: 2, vocabulary: vocabulary),
                        mentions: ["sentence 1, token 1", "id 9"])
        assertUserError(try NGramCounts(sentences: [[3, 1, 4]], order: 2, vocabulary: vocabulary),
                        mentions: ["boundary"])
        let other = try NGramCounts(order: 2, vocabulary: vocabulary)
        assertUserError(try NGramCounts(order: 3, vocabulary: vocabulary).merged(with: other), mentions: ["merge"])
    }
}
