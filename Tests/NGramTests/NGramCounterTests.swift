import Files
import Foundation
import TestSupport
@testable import NGram
import XCTest

/// Counting a text a piece at a time (`SentenceStream`) within a memory budget (`NGramCounter`):
/// the pieces own the stream `NGramCounts.stream(of:)` builds, and the counts merged from the
/// pieces and the runs spilled to disk are the arrays counting the whole stream at once gives.
final class NGramCounterTests: XCTestCase {
    private let vocabulary = generatedVocabulary(size: 9)
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ngram-counter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Sentences joined by </s> (id 1), as the word tokenizer's `<eos>` ends each line; empty
    /// lines and a long one among them; `endsWithStop`: whether the text's last line is ended.
    private func source(seed: UInt64, sentences: Int, endsWithStop: Bool) -> [Int32] {
        var lines = generatedSentences(seed: seed, sentences: sentences, maxLength: 14, vocabulary: vocabulary.size)
        lines.insert((0..<300).map { Int32(3 + $0 % 5) }, at: lines.count / 2)
        var text = Array(lines.joined(separator: [vocabulary.sentenceEnd]))
        if endsWithStop { text.append(vocabulary.sentenceEnd) }
        return text
    }

    /// What `rnntrain ngram` counted before pieces: the sentences split at </s> (the last one
    /// dropped when empty, as `Vocabulary.sentences` does), wrapped and concatenated.
    private func wholeStream(_ source: [Int32]) throws -> [Int32] {
        let sentences = source.split(separator: vocabulary.sentenceEnd, omittingEmptySubsequences: false)
            .dropLast(source.last == vocabulary.sentenceEnd ? 1 : 0).map(Array.init)
        return try NGramCounts.stream(of: sentences, vocabulary: vocabulary)
    }

    private func sentenceStream(_ source: [Int32]) -> SentenceStream {
        SentenceStream(count: source.count, vocabulary: vocabulary) { range, out in
            source.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + range.lowerBound, count: range.count) }
        }
    }

    func testPiecesOwnTheWholeStreamInTurnAndSeeTheTokensAfterThem() throws {
        for (seed, endsWithStop) in [(1, true), (2, false)] as [(UInt64, Bool)] {
            let text = source(seed: seed, sentences: 60, endsWithStop: endsWithStop)
            let whole = try wholeStream(text), stream = sentenceStream(text)
            for maximum in [1, 2, 3, 7, 50, .max] {
                var owned: [Int32] = []
                var start = 0
                repeat {
                    let piece = try stream.piece(from: start, to: text.count, owning: maximum, lookahead: 4)
                    XCTAssertGreaterThan(piece.end, start, "a piece advances")
                    XCTAssertTrue(piece.owned <= maximum || piece.end == start + 1, "within \(maximum), or one token")
                    owned += piece.tokens[..<piece.owned]
                    let after = whole[owned.count...].prefix(4)
                    XCTAssertEqual(Array(piece.tokens[piece.owned...]), Array(after), "lookahead at \(owned.count)")
                    start = piece.end
                } while start < text.count
                XCTAssertEqual(owned, whole, "maximum \(maximum), ends with </s>: \(endsWithStop)")
            }
        }
    }

    func testASourceThatIsOnlyStopsOrEmptyLines() throws {
        let stop = vocabulary.sentenceEnd
        for text in [[stop], [stop, stop], [3, stop, stop, 4], [3]] as [[Int32]] {
            let piece = try sentenceStream(text).piece(from: 0, to: text.count, owning: .max, lookahead: 2)
            XCTAssertEqual(piece.tokens, try wholeStream(text), "\(text)")
            XCTAssertEqual(piece.owned, piece.tokens.count)
        }
        XCTAssertFalse(try sentenceStream([stop, stop, 3]).hasWords(atLeast: 2))
        XCTAssertTrue(try sentenceStream([stop, 4, stop, 3]).hasWords(atLeast: 2))
    }

    func testAStartTokenOrAnIDBeyondTheVocabularyInTheSourceIsRefused() {
        for (text, position) in [([3, 4, 0, 5], 2), ([3, 9], 1)] as [([Int32], Int)] {
            XCTAssertThrowsError(try sentenceStream(text).piece(from: 0, to: text.count, owning: .max, lookahead: 2)) { error in
                XCTAssertTrue("\(error)".hasPrefix("token \(position): id \(text[position])"), "\(error)")
            }
        }
    }

    /// Counts `text` with `counter`, a piece of at most `piecePositions` at a time; `check` runs
    /// after every piece.
    private func count(_ text: [Int32], with counter: NGramCounter, check: () -> Void = {}) throws -> NGramCounts {
        let stream = sentenceStream(text)
        var start = 0
        repeat {
            let piece = try stream.piece(from: start, to: text.count, owning: counter.piecePositions, lookahead: counter.order - 1)
            try counter.add(piece.tokens, owned: piece.owned)
            check()
            start = piece.end
        } while start < text.count
        return try counter.finish()
    }

    private func spillDirectory(_ name: String) -> URL {
        scratch.appendingPathComponent("run").appendingPathComponent("tmp").appendingPathComponent(name)
    }

    func testASmallBudgetSpillsRunsAndMergesToTheCountsOfTheWhole() throws {
        let text = source(seed: 5, sentences: 700, endsWithStop: true)
        let whole = try wholeStream(text)
        for (order, memory) in [(1, 2000), (3, 12_000), (5, 24_000)] {
            let expected = try NGramCounts(stream: whole[...], startingAt: whole.indices, order: order, vocabulary: vocabulary)
            let directory = spillDirectory("order-\(order)")
            let counter = try NGramCounter(order: order, vocabulary: vocabulary, memory: memory, spillDirectory: directory)
            var sawRuns = false
            let counts = try count(text, with: counter) {
                sawRuns = sawRuns || FileManager.default.fileExists(atPath: directory.appendingPathComponent("run-000000.counts").path)
            }
            XCTAssertGreaterThan(counter.spilledRuns, 3, "order \(order): several runs")
            XCTAssertTrue(sawRuns, "the runs are files in the spill directory")
            XCTAssertEqual(counts.serialized(), expected.serialized(), "order \(order)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().path),
                           "the runs and their directory are removed at the end")
        }
    }

    func testMoreRunsThanTheFanInAreCombinedOnTheWay() throws {
        let text = source(seed: 9, sentences: 3000, endsWithStop: false)
        let whole = try wholeStream(text)
        let expected = try NGramCounts(stream: whole[...], startingAt: whole.indices, order: 3, vocabulary: vocabulary)
        let counter = try NGramCounter(order: 3, vocabulary: vocabulary, memory: 6000, spillDirectory: spillDirectory("fan-in"))
        let counts = try count(text, with: counter)
        XCTAssertGreaterThan(counter.spilledRuns, 2 * NGramCounter.maximumFanIn)
        XCTAssertEqual(counts.serialized(), expected.serialized())
    }

    func testNoBudgetIsOnePieceAndNoDisk() throws {
        let text = source(seed: 4, sentences: 200, endsWithStop: true)
        let whole = try wholeStream(text)
        let directory = spillDirectory("none")
        let counter = try NGramCounter(order: 4, vocabulary: vocabulary, memory: nil, spillDirectory: directory)
        XCTAssertEqual(counter.piecePositions, .max)
        let counts = try count(text, with: counter)
        XCTAssertEqual(counts, try NGramCounts(stream: whole[...], startingAt: whole.indices, order: 4, vocabulary: vocabulary))
        XCTAssertEqual(counter.spilledRuns, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().path))
    }

    /// A counter given up (its counting failed) removes what it spilled, and leaves a directory
    /// beside its own alone.
    func testACounterGivenUpRemovesItsRuns() throws {
        let text = source(seed: 6, sentences: 400, endsWithStop: true)
        let directory = spillDirectory("abandoned"), other = spillDirectory("other-rank")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        do {
            let counter = try NGramCounter(order: 3, vocabulary: vocabulary, memory: 8000, spillDirectory: directory)
            let piece = try sentenceStream(text).piece(from: 0, to: text.count, owning: 2000, lookahead: 2)
            try counter.add(piece.tokens, owned: piece.owned)
            try counter.add(piece.tokens, owned: piece.owned)
            XCTAssertGreaterThan(counter.spilledRuns, 0)
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.path), "another rank's directory is left")
    }

    /// The parent of the spill directory is ours: a link there is refused, not followed.
    func testALinkWhereTheSpillDirectoryGoesIsRefused() throws {
        let elsewhere = scratch.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let directory = spillDirectory("linked")
        try FileManager.default.createDirectory(at: directory.deletingLastPathComponent().deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: directory.deletingLastPathComponent(), withDestinationURL: elsewhere)
        let text = source(seed: 8, sentences: 300, endsWithStop: true)
        let counter = try NGramCounter(order: 3, vocabulary: vocabulary, memory: 8000, spillDirectory: directory)
        XCTAssertThrowsError(try count(text, with: counter)) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [])
    }
}
