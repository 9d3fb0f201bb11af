@testable import Config
@testable import TextData
import XCTest

/// The tokenizers' byte-level fast paths (`TextCounts`, `TokenEncoder`: ASCII eight bytes at a
/// time, words hashed by their bytes) against a plain reference written with Swift strings:
/// the PyTorch word-language-model split (`line.split() + ['<eos>']`) and a sorted set of scalars.
final class TokenizerReferenceTests: XCTestCase {
    /// Random text from fragments: ASCII, 2-, 3- and 4-byte scalars, every kind of whitespace, the
    /// special names, words longer than eight bytes, and (`invalid`) bytes that are not UTF-8.
    private func randomText(seed: UInt64, fragments count: Int, invalid: Bool) -> [UInt8] {
        var state = seed
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        var fragments: [[UInt8]] = ["a", "b", "the", "\u{E9}t\u{E9}", "\u{2603}", "\u{1D11E}", " ", "  ", "\t", "\r\n", "\n",
                                    "\u{0B}", "\u{0C}", "<unk>", "<eos>", "<mask>", "longerthaneightbytes", "sixteen-bytes-xx"].map { Array($0.utf8) }
        if invalid { fragments += [[0xFF], [0xFE], [0xC3], [0x80]] }
        var bytes: [UInt8] = []
        for _ in 0..<count { bytes += fragments[next() % fragments.count] }
        return bytes
    }

    private func referenceWords(_ text: [UInt8]) -> [String?] {
        let lines = text.split(separator: 0x0A, omittingEmptySubsequences: false)
        var out: [String?] = []
        for (i, line) in lines.enumerated() {
            let words = line.split { [0x20, 0x09, 0x0D, 0x0B, 0x0C].contains($0) }.map { String(decoding: $0, as: UTF8.self) }
            if i < lines.count - 1 || !line.isEmpty { out += words.map(Optional.some) + [nil] }
        }
        return out
    }

    func testWordTokenizationMatchesTheReferenceSplit() throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            let text = randomText(seed: seed, fragments: 400, invalid: true)
            let words = referenceWords(text)
            var counts: [String: Int] = [:]
            for case let word? in words { counts[word, default: 0] += 1 }
            for name in ["<eos>", "<unk>", "<mask>"] { counts[name] = nil }
            let minCount = Int(seed % 3) + 1
            let kept = counts.filter { $0.value >= minCount }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            let tokens = ["<eos>", "<unk>"] + kept.map(\.key)
            let vocabulary = try Vocabulary.build(kind: .word, text: text, source: "t", minCount: minCount, withMask: false)
            XCTAssertEqual(vocabulary.tokens, tokens, "seed \(seed)")
            let ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) })
            let expected = words.map { $0.map { ids[$0] ?? 1 } ?? 0 }
            XCTAssertEqual(try vocabulary.encode(text, source: "t").tokens, expected, "seed \(seed)")
        }
    }

    /// Thousands of distinct words, short and long, so that the word table grows several times
    /// and compares words longer than the eight bytes a slot holds.
    func testManyDistinctWordsMatchTheReference() throws {
        let text = Array((0..<30000).map { i in
            (i % 2 == 0 ? "w\(i * 7919 % 4001)" : "a-longer-word-\(i * 104729 % 2999)") + (i % 11 == 0 ? "\n" : " ")
        }.joined().utf8)
        let words = referenceWords(text)
        var counts: [String: Int] = [:]
        for case let word? in words { counts[word, default: 0] += 1 }
        let kept = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let tokens = ["<eos>", "<unk>"] + kept.map(\.key)
        let vocabulary = try Vocabulary.build(kind: .word, text: text, source: "t", minCount: 1, withMask: false)
        XCTAssertGreaterThan(tokens.count, 5000)
        XCTAssertEqual(vocabulary.tokens, tokens)
        let ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) })
        XCTAssertEqual(try vocabulary.encode(text, source: "t").tokens, words.map { $0.map { ids[$0]! } ?? 0 })
    }

    func testCharTokenizationMatchesTheReferenceScalars() throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            let text = randomText(seed: seed, fragments: 400, invalid: false)
            let scalars = String(decoding: text, as: UTF8.self).unicodeScalars.map(\.value)
            let tokens = Set(scalars).sorted()
            let vocabulary = try Vocabulary.build(kind: .char, text: text, source: "t", minCount: 1, withMask: false)
            XCTAssertEqual(vocabulary.tokens.map { $0.unicodeScalars.first!.value }, tokens, "seed \(seed)")
            let ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) })
            XCTAssertEqual(try vocabulary.encode(text, source: "t").tokens, scalars.map { ids[$0]! }, "seed \(seed)")
            // Another text's scalars that this vocabulary lacks are skipped, and counted.
            let other = randomText(seed: seed + 100, fragments: 50, invalid: false) + Array("zq\u{3B1}".utf8)
            let otherScalars = String(decoding: other, as: UTF8.self).unicodeScalars.map(\.value)
            let encoded = try vocabulary.encode(other, source: "t")
            XCTAssertEqual(encoded.tokens, otherScalars.compactMap { ids[$0] })
            XCTAssertEqual(encoded.unknown, otherScalars.filter { ids[$0] == nil }.count)
        }
    }
}
