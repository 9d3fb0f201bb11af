import Files
import TestSupport
@testable import NGram
import XCTest

/// How the reader takes the probability 0: −99 (SRILM's and KenLM's spelling) is the number it
/// is, as KenLM reads it, so a text that meets it gets a finite loss; −inf is refused with its
/// line; <s>'s 1-gram is never predicted whatever the file writes. And the 1-gram words of a
/// file that comes without rnntrain's `words.txt`.
final class ARPAProbabilityZeroTests: XCTestCase {
    private let vocabulary = generatedVocabulary(size: 30)
    private var names: [String] { ["<s>", "</s>", "<unk>"] + (3..<vocabulary.size).map { "w\($0)" } }

    /// A bigram model's file as lines, and the index of its first bigram line.
    private func bigramFile() throws -> (lines: [String], firstBigram: Int) {
        let text = generatedSentences(seed: 21, sentences: 300, maxLength: 12, vocabulary: vocabulary.size)
        let model = try KneserNey.estimate(counts: NGramCounts(sentences: text, order: 2, vocabulary: vocabulary))
        let lines = String(decoding: try model.arpa(words: names), as: UTF8.self).components(separatedBy: "\n")
        return (lines, lines.firstIndex(of: "\\2-grams:")! + 1)
    }

    private func read(_ lines: [String]) throws -> NGramModel { try NGramModel(arpa: Array(lines.joined(separator: "\n").utf8), words: names) }

    /// The ids of the words of a bigram line ("-0.5\tw3 w7").
    private func ids(_ line: String) -> [Int32] {
        line.split(separator: "\t")[1].split(separator: " ").map { Int32(names.firstIndex(of: String($0))!) }
    }

    func testMinus99IsTheNumberItIs() throws {
        var (lines, bigram) = try bigramFile()
        lines[bigram] = "-99\t" + lines[bigram].split(separator: "\t")[1]
        let gram = ids(lines[bigram])
        let p = try read(lines).log10Probability(of: gram[1], after: gram[..<1])
        XCTAssertEqual(p, -99, "10^-99, as KenLM reads it: a finite, very large loss")
    }

    func testMinusInfIsRefusedWithItsLine() throws {
        var (lines, bigram) = try bigramFile()
        for spelling in ["-inf", "-Infinity"] {
            var copy = lines
            copy[bigram] = spelling + "\t" + lines[bigram].split(separator: "\t")[1]
            assertUserError(try read(copy), mentions: ["ARPA line \(bigram + 1)", "\"\(spelling)\" is not a finite number", "-99"])
        }
        let unigram = lines.firstIndex { $0.hasPrefix("-99\t<s>\t") }!
        lines[unigram] = "-99\t<s>\t-inf"
        assertUserError(try read(lines), mentions: ["ARPA line \(unigram + 1)", "\"-inf\" is not a finite number"])
    }

    func testSentenceStartIsNeverPredictedWhateverTheFileSays() throws {
        var (lines, _) = try bigramFile()
        let unigram = lines.firstIndex { $0.hasPrefix("-99\t<s>\t") }!
        lines[unigram] = lines[unigram].replacingOccurrences(of: "-99\t", with: "-0.5\t", options: .anchored)
        let model = try read(lines)
        let start = Int(vocabulary.sentenceStart)
        XCTAssertEqual(model.log10Probability(of: Int32(start), after: []), -.infinity)
        XCTAssertEqual(model.distribution(after: [])[start], 0, "<s> is never drawn")
    }

    func testUnigramWordsInFileOrder() throws {
        let (lines, _) = try bigramFile()
        var reordered = lines
        let first = lines.firstIndex(of: "\\1-grams:")! + 1
        reordered[first..<(first + names.count)].reverse()
        let file = Array(reordered.joined(separator: "\n").utf8)
        XCTAssertEqual(try NGramModel.arpaUnigrams(file), names.reversed())
        var twice = lines
        twice[first + 4] = twice[first + 3]
        assertUserError(try NGramModel.arpaUnigrams(Array(twice.joined(separator: "\n").utf8)),
                        mentions: ["ARPA line \(first + 5)", "duplicate 1-gram \"w3\""])
        assertUserError(try NGramModel.arpaUnigrams(Array("\\data\\\nngram 1=3\n".utf8)), mentions: ["no \\1-grams: section"])
    }
}
