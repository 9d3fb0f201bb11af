import Files
import TestSupport
@testable import NGram
import XCTest

final class ARPATests: XCTestCase {
    private let vocabulary = generatedVocabulary(size: 30)
    private var names: [String] { ["<s>", "</s>", "<unk>"] + (3..<vocabulary.size).map { "w\($0)" } }

    private func model(order: Int, sentences: Int = 300) throws -> NGramModel {
        let text = generatedSentences(seed: 21, sentences: sentences, maxLength: 12, vocabulary: vocabulary.size)
        return try KneserNey.estimate(counts: NGramCounts(sentences: text, order: order, vocabulary: vocabulary))
    }

    private func lines(_ bytes: [UInt8]) -> [String] { String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n") }
    private func bytes(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: "\n").utf8) }

    func testWhatTheWriterWritesReadsBackAsTheSameModel() throws {
        for (order, sentences) in [(1, 100), (3, 300), (4, 300)] {
            let original = try model(order: order, sentences: sentences)
            let arpa = try original.arpa(words: names)
            let read = try NGramModel(arpa: arpa, words: names)
            XCTAssertEqual(read, original, "order \(order)")
            XCTAssertEqual(try read.arpa(words: names), arpa, "order \(order)")
            // Entries in another order within their sections, CRLF line ends: the same model.
            let shuffled = lines(arpa).map { $0 + "\r" }.reversedWithinSections()
            XCTAssertEqual(try NGramModel(arpa: bytes(shuffled), words: names), original, "order \(order), shuffled")
        }
    }

    /// A file of several megabytes comes in chunks of about `arpaChunkBytes`, each ending at a
    /// line's end, and the chunks read back as the model.
    func testALargeFileIsEmittedInLineAlignedChunks() throws {
        let large = generatedVocabulary(size: 20_000)
        let names = ["<s>", "</s>", "<unk>"] + (3..<large.size).map { "word\($0)" }
        // Zipf sentences, whose n-grams repeat (every count-of-count the discounts need), and as
        // many of words drawn uniformly, nearly every n-gram of them new: about 3 MB of ARPA.
        var rng = SplitMix(seed: 5)
        let uniform = (0..<3_000).map { _ in (0..<8).map { _ in Int32(3 + rng.below(large.size - 4)) } }
        let text = generatedSentences(seed: 5, sentences: 3_000, maxLength: 12, vocabulary: large.size) + uniform
        let original = try KneserNey.estimate(counts: NGramCounts(sentences: text, order: 3, vocabulary: large))
        var chunks: [[UInt8]] = []
        try original.writeARPA(words: names) { chunks.append($0) }
        XCTAssertGreaterThan(chunks.count, 2, "a file of \(chunks.map(\.count).reduce(0, +)) bytes")
        for chunk in chunks.dropLast() {
            XCTAssertGreaterThanOrEqual(chunk.count, NGramModel.arpaChunkBytes)
            XCTAssertLessThan(chunk.count, NGramModel.arpaChunkBytes + 4096)
            XCTAssertEqual(chunk.last, 0x0A)
        }
        XCTAssertEqual(try NGramModel(arpa: Array(chunks.joined()), words: names), original)
    }

    func testTheFileHasTheStandardLayout() throws {
        let text = lines(try model(order: 2).arpa(words: names))
        XCTAssertEqual(text[0], "\\data\\")
        XCTAssertEqual(text[1], "ngram 1=30")
        XCTAssertTrue(text[2].hasPrefix("ngram 2="))
        XCTAssertEqual(text[3...4], ["", "\\1-grams:"])
        XCTAssertTrue(text.contains { $0.hasPrefix("-99\t<s>\t") }, "<s> as -99 with a backoff")
        XCTAssertEqual(text.suffix(2), ["\\end\\", ""])
    }

    func testTheWriterRefusesNamesARPACannotHold() throws {
        let model = try model(order: 2)
        var spaced = names
        spaced[5] = "a b"
        assertUserError(try model.arpa(words: spaced), mentions: ["token 5", "whitespace"])
        var empty = names
        empty[4] = ""
        assertUserError(try model.arpa(words: empty), mentions: ["token 4", "empty"])
        var twice = names
        twice[4] = twice[3]
        assertUserError(try model.arpa(words: twice), mentions: ["names two tokens"])
        var renamed = names
        renamed[0] = "BOS"
        assertUserError(try model.arpa(words: renamed), mentions: ["<s>"])
        assertUserError(try model.arpa(words: Array(names.dropLast())), mentions: ["29 names", "30 tokens"])
    }

    func testHostileFilesAreOneLineUserErrors() throws {
        let good = lines(try model(order: 3).arpa(words: names))
        let header2 = good.firstIndex { $0.hasPrefix("ngram 2=") }!
        let count2 = Int(good[header2].dropFirst("ngram 2=".count))!
        let section2 = good.firstIndex(of: "\\2-grams:")!
        let firstBigram = section2 + 1
        func edited(_ body: (inout [String]) -> Void) -> [UInt8] {
            var copy = good
            body(&copy)
            return bytes(copy)
        }
        func refused(_ file: [UInt8], _ parts: [String], line: UInt = #line) {
            assertUserError(try NGramModel(arpa: file, words: names), mentions: parts, line: line)
        }
        refused([], ["empty"])
        refused(bytes(Array(good.prefix(good.count - 3))), ["expected \\end\\"])
        refused(edited { $0[1] = "ngram 1=99999999999" }, ["99999999999 1-grams", "cannot hold"])
        // A bigram that is the context of trigrams, removed (and the header told).
        let context = good[firstBigram...].firstIndex { $0.split(separator: "\t").count == 3 }!
        let contextWords = good[context].split(separator: "\t")[1]
        refused(edited {
            $0[header2] = "ngram 2=\(count2 - 1)"
            $0.remove(at: context)
        }, ["3-gram", "has no context \"\(contextWords)\" among the 2-grams"])
        refused(bytes(["\\data\\"] + (1...17).map { "ngram \($0)=1" } + good[3...]), ["order 17", "16 supported"])
        refused(edited { $0[firstBigram] = "nan\t" + $0[firstBigram].split(separator: "\t")[1] }, ["\"nan\" is not a finite number"])
        refused(edited { $0[firstBigram] = "-1e999\t" + $0[firstBigram].split(separator: "\t")[1] }, ["not a finite number"])
        refused(edited { $0[context] = $0[context].split(separator: "\t")[0...1].joined(separator: "\t") + "\tinf" },
                ["\"inf\" is not a finite number"])
        refused(edited { $0[firstBigram] = "0.5\t" + $0[firstBigram].split(separator: "\t")[1] }, ["above 0"])
        refused(edited { $0.insert(String(repeating: "a", count: 10_000_000), at: firstBigram) },
                ["line \(firstBigram + 1)", "longer than 65536 bytes"])
        refused(edited {
            $0[header2] = "ngram 2=\(count2 + 1)"
            $0.insert($0[firstBigram], at: firstBigram + 2)
        }, ["line \(firstBigram + 3)", "duplicate 2-gram", "first at line \(firstBigram + 1)"])
        refused(edited { $0.insert($0[firstBigram], at: firstBigram + 2) }, ["more 2-grams than the \(count2) announced"])
        refused(edited { $0[header2] = "ngram 2=\(count2 + 1)" }, ["\(count2) 2-grams where \(count2 + 1) were announced"])
        refused(edited { $0[firstBigram] = $0[firstBigram].replacingOccurrences(of: "\t", with: "\tzz ") },
                ["unknown word \"zz\""])
        refused(edited { $0.remove(at: $0.firstIndex(of: "\\1-grams:")! + 4); $0[1] = "ngram 1=29" },
                ["the 1-grams lack the word"])
        refused(edited { $0[0] = "\\date\\" }, ["line 1", "expected \\data\\"])
        refused(edited { $0.append("trailing") }, ["text after \\end\\"])
    }

    /// Valid files mutated byte by byte: each must load or throw a one-line UserError, never trap.
    func testMutatedFilesLoadOrThrowUserErrors() throws {
        let valid = try model(order: 3, sentences: 40).arpa(words: names)
        let alphabet = Array("0123456789-.e \t\n\\w<>s/".utf8)
        var loaded = 0
        for seed in 0..<3000 as Range<UInt64> {
            var rng = SplitMix(seed: seed)
            var file = valid
            for _ in 0..<(1 + rng.below(4)) {
                let at = rng.below(file.count)
                switch rng.below(4) {
                case 0: file[at] = alphabet[rng.below(alphabet.count)]
                case 1: file.insert(alphabet[rng.below(alphabet.count)], at: at)
                case 2: file.remove(at: at)
                default: file[at] ^= UInt8(1 << rng.below(8))
                }
            }
            do {
                _ = try NGramModel(arpa: file, words: names)
                loaded += 1
            } catch let error as UserError {
                XCTAssertFalse(error.description.contains("\n"), "seed \(seed): \(error)")
            } catch {
                XCTFail("seed \(seed): \(error)")
            }
        }
        XCTAssertLessThan(loaded, 3000, "some mutations must be refused")
    }
}

private extension Array where Element == String {
    /// The entry lines of each `\n-grams:` section in reverse order.
    func reversedWithinSections() -> [String] {
        var out: [String] = []
        var entries: [String] = []
        for line in self {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("\\") || trimmed.hasPrefix("ngram ") {
                out += entries.reversed()
                entries = []
                out.append(line)
            } else {
                entries.append(line)
            }
        }
        return out + entries.reversed()
    }
}
