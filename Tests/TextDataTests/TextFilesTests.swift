@testable import Config
import ErrorAssertions
import Files
import Foundation
@testable import TextData
import XCTest

/// `data.path` as a directory or a glob: the join rule, the listing's order and refusals, and
/// that `Corpus.load` of the files gives the tokens of the joined text written out by hand.
final class TextFilesTests: XCTestCase {
    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-textfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    @discardableResult
    private func put(_ text: String, _ name: String, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    private func load(_ path: String, _ tokenizer: TokenizerKind, valFraction: Double = 0.2) throws -> Corpus {
        try Corpus.load(path: path, valPath: "", valFraction: valFraction, tokenizer: tokenizer, minCount: 1, withMask: false)
    }

    func testFilesAreJoinedInByteOrderWithANewlineAfterAFileWithoutOne() throws {
        let directory = try scratch()
        // Byte order: "B" (0x42) < "a" (0x61) < "e" < "é" (0xC3 0xA9); Swift's String order agrees
        // here, but a locale's would put "a" first.
        try put("ab\u{E9}", "é", in: directory)
        try put("b\u{2603}\n", "a", in: directory)
        try put("", "c-empty", in: directory)
        try put("\u{1D11E}x", "B", in: directory)
        try put("words on a line", "e", in: directory)
        try put("hidden\n", ".hidden", in: directory)
        let files = try TextFiles.list(directory.path)
        XCTAssertEqual(files.files.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["B", "a", "e", "é"])
        let joined = "\u{1D11E}x\n" + "b\u{2603}\n" + "words on a line\n" + "ab\u{E9}"
        XCTAssertEqual(try files.read(), Array(joined.utf8))
        XCTAssertEqual(files.size, joined.utf8.count)

        // The same tokens as the joined text in one file (which gets no newline added).
        let single = try put(joined, "joined.txt", in: try scratch())
        for tokenizer in [TokenizerKind.char, .word, .byte] {
            let fromFiles = try load(directory.path, tokenizer), fromOne = try load(single.path, tokenizer)
            XCTAssertEqual(fromFiles.vocabulary, fromOne.vocabulary, "\(tokenizer)")
            XCTAssertEqual(try fromFiles.train.all, try fromOne.train.all, "\(tokenizer)")
            XCTAssertEqual(try fromFiles.validation.all, try fromOne.validation.all, "\(tokenizer)")
        }
        // A glob lists the same way; `*` does not match hidden files.
        XCTAssertEqual(try TextFiles.list(directory.path + "/*").files, files.files)
        XCTAssertEqual(try TextFiles.list(directory.path + "/[ae]").files.map(\.path),
                       ["a", "e"].map { directory.appendingPathComponent($0).path })
    }

    func testErrorsNameTheFileAndTheOffsetInIt() throws {
        let directory = try scratch()
        try put("fine\n", "1", in: directory)
        let bad = directory.appendingPathComponent("2")
        try Data(Array("ab".utf8) + [0xE2, 0x98]).write(to: bad)  // a scalar cut by the end of the file
        try put("\u{80}more", "3", in: directory)
        XCTAssertThrowsError(try load(directory.path, .char, valFraction: 0)) { error in
            XCTAssertEqual((error as? UserError)?.description,
                           "\(bad.path): invalid UTF-8 at byte offset 2 (tokenizer 'byte' accepts any bytes)")
        }
    }

    func testRefusals() throws {
        let directory = try scratch()
        assertUserError(try TextFiles.list(directory.path), mentions: [directory.path, "empty directory"])
        try put("", "empty1", in: directory)
        try put("", "empty2", in: directory)
        assertUserError(try TextFiles.list(directory.path), mentions: [directory.path, "all 2 files are empty"])
        assertUserError(try TextFiles.list(directory.path + "/*.none"), mentions: [directory.path + "/*.none", "no file matches"])
        try put("text\n", "text", in: directory)

        let fifo = directory.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        assertUserError(try TextFiles.list(directory.path), mentions: [fifo.path, "FIFO"])
        assertUserError(try TextFiles.list(directory.path + "/fi*"), mentions: [fifo.path, "FIFO"])
        unlink(fifo.path)

        let link = directory.appendingPathComponent("link")
        XCTAssertEqual(symlink(try scratch().path, link.path), 0)
        assertUserError(try TextFiles.list(directory.path), mentions: [link.path, "is a directory"])
        unlink(link.path)

        let sub = directory.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        assertUserError(try TextFiles.list(directory.path), mentions: [sub.path, "is a directory"])
        try FileManager.default.removeItem(at: sub)
        XCTAssertEqual(try TextFiles.list(directory.path).files.map(\.path), [directory.appendingPathComponent("text").path])
    }
}
