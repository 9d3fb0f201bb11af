@testable import Config
import ErrorAssertions
import Foundation
@testable import TextData
import XCTest

final class CorpusTests: XCTestCase {
    /// A unique path under the temporary directory, removed after the test.
    private func temporaryPath(_ suffix: String = ".txt") -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("rnntrain-corpus-\(UUID().uuidString)\(suffix)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    private func write(_ bytes: [UInt8]) throws -> String {
        let path = temporaryPath()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func write(_ text: String) throws -> String { try write(Array(text.utf8)) }

    private func load(_ path: String, valPath: String = "", valFraction: Double = 0.1,
                      _ tokenizer: TokenizerKind = .char, minCount: Int = 1) throws -> Corpus {
        try Corpus.load(path: path, valPath: valPath, valFraction: valFraction, tokenizer: tokenizer,
                        minCount: minCount, withMask: false)
    }

    func testValidationIsAboutTheRequestedFraction() throws {
        let text = String(repeating: "to be or not to be\n", count: 100)  // 1900 ASCII bytes
        let path = try write(text)
        for fraction in [0.05, 0.1, 0.3] {
            let corpus = try load(path, valFraction: fraction)
            XCTAssertEqual(corpus.train.count + corpus.validation.count, text.utf8.count)
            XCTAssertEqual(Double(corpus.validation.count), 1900 * fraction, accuracy: 1)
            XCTAssertEqual(corpus.vocabulary.decode(try corpus.train.all) + corpus.vocabulary.decode(try corpus.validation.all), text)
        }
    }

    func testZeroFractionGivesEmptyValidation() throws {
        let corpus = try load(try write("abc\n"), valFraction: 0)
        XCTAssertEqual(corpus.train.count, 4)
        XCTAssertEqual(try corpus.validation.all, [])
    }

    func testBadFractionIsAUserError() throws {
        let path = try write("abc\n")
        assertUserError(try load(path, valFraction: 1), mentions: ["fraction"])
        assertUserError(try load(path, valFraction: -0.1), mentions: ["fraction"])
    }

    func testSplitNeverCutsAMultiByteScalar() throws {
        // 1-, 2-, 3- and 4-byte scalars, so every byte offset is tried as a split candidate.
        let text = String(repeating: "aé☃𝄞", count: 40)
        let path = try write(text)
        for percent in 1...60 {
            let corpus = try load(path, valFraction: Double(percent) / 100)
            XCTAssertEqual(corpus.vocabulary.count, 4)
            XCTAssertEqual(corpus.vocabulary.decode(try corpus.train.all) + corpus.vocabulary.decode(try corpus.validation.all),
                           text, "\(percent)%")
        }
    }

    func testWordSplitFallsOnALineBoundary() throws {
        let text = (0..<50).map { "w\($0 % 7) w\($0 % 3) x\n" }.joined()
        // 0.21 of 400 bytes puts the raw split 4 bytes before a line end.
        let corpus = try load(try write(text), valFraction: 0.21, .word)
        XCTAssertEqual(try corpus.train.all.last, 0, "training part ends with <eos>")
        XCTAssertEqual(corpus.vocabulary.decode(try corpus.train.all) + corpus.vocabulary.decode(try corpus.validation.all), text)
        XCTAssertEqual(Double(corpus.validation.count), 200 * 0.2, accuracy: 8)  // 4 tokens a line
    }

    func testValPathIsUsedWhenGiven() throws {
        let trainPath = try write("abcabc\n")
        let valPath = try write("cab")
        let corpus = try load(trainPath, valPath: valPath, valFraction: 0.5)
        XCTAssertEqual(corpus.vocabulary.tokens, ["\n", "a", "b", "c"])
        XCTAssertEqual(try corpus.train.all, [1, 2, 3, 1, 2, 3, 0], "the fraction is ignored with a validation file")
        XCTAssertEqual(try corpus.validation.all, [3, 1, 2])
        assertUserError(try load(trainPath, valPath: temporaryPath()), mentions: ["no such file"])
    }

    func testVocabularyIsBuiltFromTheTrainingPartOnly() throws {
        // "z" occurs only in the last 19 bytes (0.2 of 95), which become the validation part.
        let text = String(repeating: "ab", count: 45) + "abzab"
        let corpus = try load(try write(text), valFraction: 0.2)
        XCTAssertEqual(corpus.vocabulary.tokens, ["a", "b"])
        XCTAssertEqual(corpus.train.count + corpus.validation.count, text.count - 1)
        XCTAssertEqual(corpus.validation.count, 18)
    }

    func testRareAndUnseenWordsBecomeUnknown() throws {
        let corpus = try load(try write("a a b\na c\n"), valPath: try write("a d d\n"), .word, minCount: 2)
        XCTAssertEqual(corpus.vocabulary.tokens, ["<eos>", "<unk>", "a"])
        XCTAssertEqual(try corpus.train.all, [2, 2, 1, 0, 2, 1, 0])
        XCTAssertEqual(try corpus.validation.all, [2, 1, 1, 0])
    }

    func testInvalidUTF8NamesTheFile() throws {
        let path = try write([0x61, 0x62, 0xFF, 0x0A])
        assertUserError(try load(path, valFraction: 0), mentions: [path, "offset 2"])
        XCTAssertEqual(try load(path, valFraction: 0, .byte).train.all, [0x61, 0x62, 0xFF, 0x0A])
    }

    func testMissingEmptyAndDirectoryPathsAreUserErrors() throws {
        let missing = temporaryPath()
        assertUserError(try load(missing), mentions: [missing, "no such file"])
        let empty = try write([UInt8]())
        assertUserError(try load(empty), mentions: [empty, "empty"])
        let directory = temporaryPath("")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        assertUserError(try load(directory), mentions: [directory, "directory"])
        let good = try write("abc\n")
        assertUserError(try load(good, valPath: empty), mentions: [empty, "empty"])
    }
}
