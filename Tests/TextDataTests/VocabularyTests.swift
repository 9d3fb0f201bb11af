@testable import Config
import ErrorAssertions
@testable import TextData
import XCTest

final class VocabularyTests: XCTestCase {
    private let text = "héllo wörld ☃"

    private func build(_ kind: TokenizerKind, _ text: String, minCount: Int = 1, withMask: Bool = false) throws -> Vocabulary {
        try Vocabulary.build(kind: kind, text: Array(text.utf8), source: "t.txt", minCount: minCount, withMask: withMask)
    }

    // MARK: char

    func testCharVocabularyIsSortedAndComplete() throws {
        let vocab = try build(.char, text)
        XCTAssertEqual(vocab.kind, .char)
        XCTAssertEqual(vocab.tokens, [" ", "d", "h", "l", "o", "r", "w", "é", "ö", "☃"])
        XCTAssertEqual(vocab.count, 10)
        XCTAssertNil(vocab.maskToken)
    }

    func testCharEncodeDecodeRoundTrips() throws {
        let vocab = try build(.char, text)
        let (ids, unknown) = try vocab.encode(Array(text.utf8), source: "t.txt")
        XCTAssertEqual(unknown, 0)
        XCTAssertEqual(ids.count, text.unicodeScalars.count)
        XCTAssertEqual(Array(ids.prefix(3)), [2, 7, 3])  // h, é, l
        XCTAssertEqual(vocab.decode(ids), text)
    }

    func testInvalidUTF8IsAUserErrorNamingSourceAndOffset() throws {
        assertUserError(try Vocabulary.build(kind: .char, text: [0x68, 0xFF, 0x69], source: "bad.txt",
                                             minCount: 1, withMask: false),
                        mentions: ["bad.txt", "offset 1"])
        let vocab = try build(.char, "abc")
        // Truncated 3-byte sequence, overlong encoding of "/", encoded surrogate U+D800.
        assertUserError(try vocab.encode([0x61, 0xE2, 0x98], source: "x.txt"), mentions: ["x.txt", "offset 1"])
        assertUserError(try vocab.encode([0xC0, 0xAF], source: "x.txt"), mentions: ["offset 0"])
        assertUserError(try vocab.encode([0x61, 0x62, 0xED, 0xA0, 0x80], source: "x.txt"), mentions: ["offset 2"])
    }

    func testEmptyTextIsAUserError() {
        assertUserError(try build(.char, ""), mentions: ["t.txt", "empty"])
        assertUserError(try build(.word, " \n\n"), mentions: ["t.txt", "no words"])
    }

    func testUnknownScalarsAreSkippedAndCounted() throws {
        let vocab = try build(.char, "abc")
        let (ids, unknown) = try vocab.encode(Array("abxc☃y".utf8), source: "t.txt")
        XCTAssertEqual(ids, [0, 1, 2])
        XCTAssertEqual(unknown, 3)
    }

    // MARK: byte

    func testByteRoundTripsArbitraryBytes() throws {
        let vocab = try build(.byte, "irrelevant")
        XCTAssertEqual(vocab.count, 256)
        XCTAssertEqual(vocab.tokens[0x0A], "<0x0A>")
        XCTAssertEqual(vocab.tokens[0xAB], "<0xAB>")
        let bytes: [UInt8] = Array(0...255) + [0x68, 0xFF, 0x69, 0xC3]
        let (ids, unknown) = try vocab.encode(bytes, source: "b.bin")
        XCTAssertEqual(unknown, 0)
        XCTAssertEqual(ids.map { UInt8($0) }, bytes)
        XCTAssertEqual(vocab.decode(try vocab.encode(Array(text.utf8), source: "b").tokens), text)
        XCTAssertEqual(vocab.decode([0x68, 0xFF, 0x69]), "h\u{FFFD}i")
    }

    // MARK: word

    private let words = "the cat sat\nthe dog\n\nthe\tcat"  // last line without newline

    func testWordVocabularyOrdersByCountThenString() throws {
        let vocab = try build(.word, words)
        // the ×3, cat ×2, then dog and sat (×1) in string order.
        XCTAssertEqual(vocab.tokens, ["<eos>", "<unk>", "the", "cat", "dog", "sat"])
    }

    func testWordEncodePutsEOSAtEveryLineEnd() throws {
        let vocab = try build(.word, words)
        let (ids, unknown) = try vocab.encode(Array(words.utf8), source: "w.txt")
        XCTAssertEqual(unknown, 0)
        XCTAssertEqual(ids, [2, 3, 5, 0, 2, 4, 0, 0, 2, 3, 0])
        // A trailing newline adds no second <eos>.
        XCTAssertEqual(try vocab.encode(Array("the\n".utf8), source: "w").tokens, [2, 0])
        XCTAssertEqual(try vocab.encode(Array("the".utf8), source: "w").tokens, [2, 0])
    }

    func testWordMinCountMapsRareWordsToUnknown() throws {
        let vocab = try build(.word, words, minCount: 2)
        XCTAssertEqual(vocab.tokens, ["<eos>", "<unk>", "the", "cat"])
        let (ids, unknown) = try vocab.encode(Array("the dog sat cat\n".utf8), source: "w")
        XCTAssertEqual(ids, [2, 1, 1, 3, 0])
        XCTAssertEqual(unknown, 2)
        // A literal "<unk>" (as in PTB text) is the unknown token itself, not an unknown word.
        let literal = try vocab.encode(Array("<unk> the".utf8), source: "w")
        XCTAssertEqual(literal.tokens, [1, 2, 0])
        XCTAssertEqual(literal.unknown, 0)
    }

    func testWordDecodeJoinsWithSpacesAndNewlines() throws {
        let vocab = try build(.word, words)
        XCTAssertEqual(vocab.decode([2, 3, 5, 0, 2, 4, 0, 0, 2, 1]), "the cat sat\nthe dog\n\nthe <unk>")
    }

    // MARK: mask

    func testMaskTokenIsLastAndOnlyWhenAskedFor() throws {
        for kind in TokenizerKind.allCases {
            let plain = try build(kind, words)
            XCTAssertNil(plain.maskToken, "\(kind)")
            XCTAssertFalse(plain.tokens.contains("<mask>"), "\(kind)")
            let masked = try build(kind, words, withMask: true)
            XCTAssertEqual(masked.tokens, plain.tokens + ["<mask>"], "\(kind)")
            XCTAssertEqual(masked.maskToken, Int32(plain.count), "\(kind)")
            XCTAssertEqual(masked.decode([masked.maskToken!]), "<mask>", "\(kind)")
            // The mask never comes out of text: ids of the real tokens are unchanged.
            XCTAssertEqual(try masked.encode(Array(words.utf8), source: "w").tokens,
                           try plain.encode(Array(words.utf8), source: "w").tokens, "\(kind)")
        }
    }

    // MARK: stored form

    func testStoredFormRoundTrips() throws {
        for kind in TokenizerKind.allCases {
            for withMask in [false, true] {
                let built = try build(kind, text + "\n" + words, withMask: withMask)
                let stored = try Vocabulary(kind: kind, tokens: built.tokens, maskToken: built.maskToken)
                XCTAssertEqual(stored, built, "\(kind) mask \(withMask)")
            }
        }
    }

    func testStoredFormRejectsBadLists() throws {
        let bytes = try build(.byte, "x").tokens
        assertUserError(try Vocabulary(kind: .char, tokens: ["a", "b", "a"], maskToken: nil), mentions: ["duplicate"])
        assertUserError(try Vocabulary(kind: .word, tokens: ["<eos>", "<unk>", "x", "x"], maskToken: nil),
                        mentions: ["duplicate"])
        assertUserError(try Vocabulary(kind: .word, tokens: ["x", "<eos>", "<unk>"], maskToken: nil),
                        mentions: ["<eos>"])
        assertUserError(try Vocabulary(kind: .char, tokens: ["ab"], maskToken: nil), mentions: ["single"])
        assertUserError(try Vocabulary(kind: .byte, tokens: Array(bytes.dropLast()), maskToken: nil),
                        mentions: ["256"])
        var renamed = bytes
        renamed[7] = "x"
        assertUserError(try Vocabulary(kind: .byte, tokens: renamed, maskToken: nil), mentions: ["256"])
        assertUserError(try Vocabulary(kind: .char, tokens: ["a", "<mask>", "b"], maskToken: 1), mentions: ["mask"])
        assertUserError(try Vocabulary(kind: .char, tokens: ["a", "<mask>"], maskToken: nil), mentions: ["mask"])
        assertUserError(try Vocabulary(kind: .byte, tokens: bytes + ["<mask>"], maskToken: 255), mentions: ["mask"])
        XCTAssertEqual(try Vocabulary(kind: .byte, tokens: bytes + ["<mask>"], maskToken: 256).maskToken, 256)
    }
}
