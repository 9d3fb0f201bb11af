import Checkpoints
@testable import Config
import ErrorAssertions
import Files
import Foundation
@testable import PreparedData
import TextData
import XCTest

/// `prepare` reads the text in pieces; these tests read it in pieces of a few bytes, so that
/// pieces end inside every kind of UTF-8 scalar and the split falls at every offset, and check
/// that the prepared tokens are `Corpus.load`'s, id for id.
final class PreparedDatasetTests: XCTestCase {
    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-prepared-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func data(_ path: String, valPath: String = "", valFraction: Double, _ tokenizer: TokenizerKind,
                      minCount: Int = 1) -> DataConfig {
        var d = DataConfig()
        d.minCount = minCount
        d.path = path
        d.valPath = valPath
        d.valFraction = valFraction
        d.tokenizer = tokenizer
        return d
    }

    private func assertSame(_ d: DataConfig, pieceBytes: Int, withMask: Bool = false, in directory: URL,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let out = directory.appendingPathComponent("ds-\(UUID().uuidString)")
        _ = try DatasetPreparation.prepare(data: d, withMask: withMask, out: out, pieceBytes: pieceBytes)
        var wanted = d
        wanted.task = withMask ? .fillInTheMiddle : .lm
        let prepared = try PreparedDataset.open(out.path, data: wanted)
        let text = try Corpus.load(path: d.path, valPath: d.valPath, valFraction: d.valFraction, tokenizer: d.tokenizer,
                                   minCount: d.minCount, withMask: withMask)
        let what = "\(d.tokenizer) fraction \(d.valFraction) pieces of \(pieceBytes)"
        XCTAssertEqual(prepared.vocabulary, text.vocabulary, what, file: file, line: line)
        XCTAssertEqual(try prepared.train.all, try text.train.all, what, file: file, line: line)
        XCTAssertEqual(try prepared.validation.all, try text.validation.all, what, file: file, line: line)
        // The digest's definition, computed from the files on disk: SHA-256 of the two token files' SHA-256s.
        let fileHashes = try [PreparedDataset.trainName, PreparedDataset.validationName].flatMap {
            SHA256.hash([UInt8](try Data(contentsOf: out.appendingPathComponent($0))))
        }
        XCTAssertEqual(prepared.digest, SHA256.hash(fileHashes), "the digest of the token files", file: file, line: line)
        XCTAssertEqual(try CorpusDigest.of(text), SHA256.hash(fileHashes), "the corpus digest is the one training from text computes",
                       file: file, line: line)
    }

    /// An id ≥ |V| is refused where a batch reads it, naming the file and the token's index, and
    /// not before: opening reads only the headers. Widths 1 (char) and 2 (word, |V| > 256).
    func testAnIDBeyondTheVocabularyIsRefusedWhereItIsRead() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("text.txt").path
        let words = (0..<300).map { "w\($0)" }.joined(separator: " ") + "\n"
        try Data(String(repeating: words, count: 2).utf8).write(to: URL(fileURLWithPath: path))
        for tokenizer in [TokenizerKind.char, .word] {
            let out = directory.appendingPathComponent("ds-\(tokenizer)")
            _ = try DatasetPreparation.prepare(data: data(path, valFraction: 0.1, tokenizer), withMask: false, out: out)
            let tokens = out.appendingPathComponent(PreparedDataset.trainName)
            var bytes = [UInt8](try Data(contentsOf: tokens))
            let width = tokenizer == .char ? 1 : 2
            let bad = 37
            for b in 0..<width { bytes[TokenFileHeader.size + bad * width + b] = 0xFF }
            try Data(bytes).write(to: tokens)
            let corpus = try PreparedDataset.open(out.path, data: data(path, valFraction: 0.1, tokenizer))
            let wanted = try Corpus.load(path: path, valPath: "", valFraction: 0.1, tokenizer: tokenizer, minCount: 1, withMask: false)
            XCTAssertEqual(try corpus.train.array(0..<bad), try wanted.train.array(0..<bad), "\(tokenizer): the ids before the bad one")
            XCTAssertEqual(try corpus.train.array((bad + 1)..<corpus.train.count), try wanted.train.array((bad + 1)..<wanted.train.count))
            let id = width == 1 ? 255 : 65535
            assertUserError(try corpus.train.array(30..<40), mentions: [tokens.path, "token \(bad) has id \(id)", "vocabulary size \(wanted.vocabulary.count)"])
            let batches = try StreamBatches(tokens: corpus.train, streams: 2, steps: 8, history: 0, source: "train")
            XCTAssertNoThrow(try batches.makeBatch(chunk: 0, sequences: 0..<2), "chunk 0 (tokens 0...8 of stream 0) holds no bad id")
            assertUserError(try batches.makeBatch(chunk: 4, sequences: 0..<2), mentions: [tokens.path, "token \(bad) "])
            let windows = try WindowBatches(tokens: corpus.train, globalBatch: 1, steps: 9, seed: 1, fill: nil, source: "train", shifted: false)
            var batch = windows.makeBatch(sequences: 0..<1)
            XCTAssertNoThrow(try windows.fillInOrder(&batch, first: 0), "window 0 (tokens 0...9) holds no bad id")
            assertUserError(try windows.fillInOrder(&batch, first: 3), mentions: [tokens.path, "token \(bad) "])
        }
    }

    func testPreparedTokensAreTheTextsAtEverySplitAndPieceSize() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("text.txt").path
        // 1-, 2-, 3- and 4-byte scalars, so pieces and splits fall inside each kind.
        try Data(String(repeating: "aé☃𝄞\n", count: 30).utf8).write(to: URL(fileURLWithPath: path))
        for pieceBytes in [1, 2, 3, 5, 7, 4096] {
            for percent in [0, 3, 10, 37] {
                try assertSame(data(path, valFraction: Double(percent) / 100, .char), pieceBytes: pieceBytes, in: directory)
            }
            try assertSame(data(path, valFraction: 0.1, .byte), pieceBytes: pieceBytes, in: directory)
        }
        try assertSame(data(path, valFraction: 0.1, .char), pieceBytes: 3, withMask: true, in: directory)
        try assertSame(data(path, valFraction: 0.1, .byte), pieceBytes: 3, withMask: true, in: directory)
    }

    func testPreparedWordTokensAreTheTextsAtEverySplitAndPieceSize() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("words.txt").path
        // Runs of spaces, tabs, CR LF, a literal "<unk>", rare words, a long word, no final newline.
        let lines = (0..<40).map { i in "w\(i % 5)  x\t<unk> caf\u{E9}\(i % 3)\r\n" + (i % 9 == 0 ? "rare\(i) longlonglongword\n" : "") }
        try Data((lines.joined() + "tail words").utf8).write(to: URL(fileURLWithPath: path))
        for pieceBytes in [1, 2, 3, 5, 7, 11, 4096] {
            for percent in [0, 3, 10, 37] {
                try assertSame(data(path, valFraction: Double(percent) / 100, .word), pieceBytes: pieceBytes, in: directory)
            }
            try assertSame(data(path, valFraction: 0.2, .word, minCount: 2), pieceBytes: pieceBytes, in: directory)
        }
        try assertSame(data(path, valFraction: 0.1, .word), pieceBytes: 3, withMask: true, in: directory)
    }

    func testValPathIsEncodedWithTheTrainingVocabulary() throws {
        let directory = try scratch()
        let train = directory.appendingPathComponent("train.txt"), held = directory.appendingPathComponent("val.txt")
        try Data("abcé abc\n".utf8).write(to: train)
        try Data("cab zé\n".utf8).write(to: held)  // "z" is not in the vocabulary: skipped
        try assertSame(data(train.path, valPath: held.path, valFraction: 0.5, .char), pieceBytes: 2, in: directory)
    }

    func testInvalidUTF8IsReportedAtItsOffsetInTheFile() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("bad.txt").path
        try Data(Array("abcdefgh".utf8) + [0xFF] + Array("ij\n".utf8)).write(to: URL(fileURLWithPath: path))
        let out = directory.appendingPathComponent("ds")
        XCTAssertThrowsError(try DatasetPreparation.prepare(data: data(path, valFraction: 0, .char), withMask: false, out: out,
                                                            pieceBytes: 3)) { error in
            XCTAssertEqual((error as? UserError)?.description,
                           "\(path): invalid UTF-8 at byte offset 8 (tokenizer 'byte' accepts any bytes)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a failed prepare leaves no dataset")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["bad.txt"], "nor a temporary directory")
    }

    func testHeaderRoundTripsAndRefusesEveryBadField() throws {
        let header = TokenFileHeader(width: 2, count: 3, vocabularySize: 300, tokenizer: .byte,
                                     vocabularyHash: Array(repeating: 7, count: 32))
        let bytes = header.encoded()
        XCTAssertEqual(bytes.count, TokenFileHeader.size)
        XCTAssertEqual(try TokenFileHeader.parse(bytes, fileSize: 128 + 6, source: "f"), header)
        func refused(_ edit: (inout [UInt8]) -> Void, fileSize: Int = 134, _ mention: String) {
            var b = bytes
            edit(&b)
            XCTAssertThrowsError(try TokenFileHeader.parse(b, fileSize: fileSize, source: "f")) { error in
                let line = (error as? UserError)?.description ?? "\(error)"
                XCTAssertTrue(line.hasPrefix("f: ") && line.contains(mention), line)
            }
        }
        refused({ $0[0] = 0x41 }, "magic")
        refused({ $0[8] = 3 }, "version")
        refused({ $0[8] = 1 }, "an older rnntrain's: prepare the text again")
        refused({ $0[12] = 3 }, "width")
        refused({ $0[16] = 4 }, "counts 4 tokens")
        refused({ _ in }, fileSize: 135, "truncated or extended")
        refused({ _ in }, fileSize: 100, "shorter than")
        refused({ $0[24] = 0; $0[25] = 0 }, "vocabulary size")
        refused({ $0[29] = 1 }, "reserved")
        refused({ $0[72] = 1 }, "reserved")
        refused({ $0[127] = 1 }, "reserved")
        refused({ $0[32] = 0x78 }, "tokenizer")
        // A count whose byte size overflows is a disagreement, not a crash.
        refused({ for i in 16..<24 { $0[i] = 0xFF } }, "counts")
    }

    /// Reading a batch leaves none of the token file's pages in this process's resident set:
    /// a fault maps the large folio around a read, so `copy` drops the aligned 2 MiB around it.
    /// Releasing only the read's own pages left 12 MB of a 100 MB corpus resident for 32 streams.
    func testReadingBatchesLeavesNoTokenPagesResident() throws {
        let directory = try scratch()
        let path = directory.appendingPathComponent("text.txt").path
        let line = "the quick brown fox jumps over the lazy dog, again and again\n"
        try Data(String(repeating: line, count: (8 << 20) / line.utf8.count).utf8).write(to: URL(fileURLWithPath: path))
        let out = directory.appendingPathComponent("ds")
        _ = try DatasetPreparation.prepare(data: data(path, valFraction: 0.1, .char), withMask: false, out: out)
        let corpus = try PreparedDataset.open(out.path, data: data(path, valFraction: 0.1, .char))
        let batches = try StreamBatches(tokens: corpus.train, streams: 32, steps: 64, history: 0, source: "train")
        for chunk in 0..<20 { _ = try batches.makeBatch(chunk: chunk, sequences: 0..<32) }
        let tokens = out.appendingPathComponent(PreparedDataset.trainName).path
        let resident = try withExtendedLifetime(batches) { try residentKilobytes(of: tokens) }
        XCTAssertLessThanOrEqual(resident, 256, "\(resident) kB of \(tokens) resident after 20 batches of 32 streams")
    }

    /// The Rss of `path`'s mappings in /proc/self/smaps, in kB.
    private func residentKilobytes(of path: String) throws -> Int {
        var inside = false, total = 0, mappings = 0
        // Read to its end: /proc files report a size of 0, which Data(contentsOf:) trusts.
        let smaps = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps")).readToEnd() ?? Data()
        for line in String(decoding: smaps, as: UTF8.self).split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inside = line.hasSuffix(" " + path)
                if inside { mappings += 1 }
            } else if inside, line.hasPrefix("Rss:") {
                total += Int(line.split(whereSeparator: \.isWhitespace)[1])!
            }
        }
        XCTAssertEqual(mappings, 1, "\(path) is mapped once")
        return total
    }
}
