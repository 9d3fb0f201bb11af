import Config
import Files
import Foundation
import NGram
import NGramFiles
import TextData
import XCTest

/// An n-gram model's run directory as `rnntrain ngram` writes it: read back as the same model,
/// its manifest checked by coreutils' `sha256sum`, a changed file refused naming it, the ways
/// `open` tells a directory, its `model.arpa` and a bare ARPA file apart, and sampling.
final class NGramLanguageModelTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ngram-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// Sentences of a dozen words of our own, one per line.
    private func text(lines: Int) -> String {
        let words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log", "quietly", "home", "again"]
        var state: UInt64 = 7
        return (0..<lines).map { _ in
            (0..<(3 + Int(state % 5))).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return words[Int(state >> 33) % words.count]
            }.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }

    /// A word model of `order` estimated from the training part, written into `directory`.
    private func written(order: Int, to directory: URL) throws -> (NGramLanguageModel, corpus: Corpus, config: TrainingConfig) {
        let path = scratch.appendingPathComponent("text.txt")
        try Data(text(lines: 400).utf8).write(to: path)
        var config = TrainingConfig()
        config.data.path = path.path
        config.data.tokenizer = .word
        config.ngram.order = order
        let corpus = try Corpus.load(path: path.path, valPath: "", valFraction: 0.1, tokenizer: .word, minCount: 1, withMask: false)
        let words = try corpus.vocabulary.arpaWords()
        let counts = try NGramCounts(sentences: corpus.vocabulary.sentences(try corpus.train.all), order: order,
                                     vocabulary: try ARPAVocabulary.vocabulary(of: words))
        // Twelve words, each seen often: order 1 has no singletons, so lmplz's fallback discounts.
        let model = try KneserNey.estimate(counts: counts, fallback: KneserNey.Discounts.lmplzFallback)
        try NGramLanguageModel.write(model, words: words, config: config, to: directory)
        return (NGramLanguageModel(model: model, vocabulary: corpus.vocabulary), corpus, config)
    }

    func testAWrittenDirectoryReadsBackAsTheSameModelAndItsManifestChecks() throws {
        let directory = scratch.appendingPathComponent("lm")
        let (original, corpus, _) = try written(order: 3, to: directory)
        let read = try NGramLanguageModel(directory: directory)
        XCTAssertEqual(read.model, original.model)
        XCTAssertEqual(read.vocabulary, original.vocabulary)
        let validation = try corpus.validation.all
        XCTAssertEqual(read.loss(validation).nats, original.loss(validation).nats)
        XCTAssertEqual(read.loss(validation).count, validation.count, "every token scored, each line's <eos> as its </s>")
        // coreutils, not our reader, checks the manifest.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        check.arguments = ["--check", "--strict", "SHA256SUMS"]
        check.currentDirectoryURL = directory
        check.standardOutput = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        XCTAssertEqual(check.terminationStatus, 0)
    }

    func testAChangedFileIsRefusedNamingIt() throws {
        let directory = scratch.appendingPathComponent("lm")
        _ = try written(order: 2, to: directory)
        for name in [NGramLanguageModel.modelName, NGramLanguageModel.wordsName, NGramLanguageModel.configName] {
            let file = directory.appendingPathComponent(name)
            let before = try Data(contentsOf: file)
            var changed = before
            changed[changed.count / 2] ^= 0x01
            try changed.write(to: file)
            XCTAssertThrowsError(try NGramLanguageModel(directory: directory), name) { error in
                XCTAssertTrue(error is UserError, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(name), "\(name): \(error)")
            }
            try before.write(to: file)
        }
        XCTAssertNoThrow(try NGramLanguageModel(directory: directory))
    }

    func testOpenTellsTheDirectoryItsModelFileAndABareARPAFileApart() throws {
        let directory = scratch.appendingPathComponent("lm")
        let (original, corpus, _) = try written(order: 3, to: directory)
        let arpa = directory.appendingPathComponent(NGramLanguageModel.modelName)
        XCTAssertEqual(try NGramLanguageModel.open(directory.path, tokenizer: nil)?.model, original.model)
        XCTAssertEqual(try NGramLanguageModel.open(arpa.path, tokenizer: nil)?.model, original.model)
        // Copied out, the file is another tool's: its vocabulary comes from its 1-grams.
        let bare = scratch.appendingPathComponent("copy.arpa")
        try FileManager.default.copyItem(at: arpa, to: bare)
        let fromFile = try XCTUnwrap(NGramLanguageModel.open(bare.path, tokenizer: .word))
        XCTAssertEqual(fromFile.vocabulary.kind, .word)
        XCTAssertEqual(Set(fromFile.vocabulary.tokens), Set(original.vocabulary.tokens))
        // The same text scores the same under either numbering of the words.
        let validation = try corpus.validation.all
        let renumbered = try fromFile.vocabulary.encode(Array(corpus.vocabulary.decode(validation).utf8), source: "validation").tokens
        XCTAssertEqual(fromFile.vocabulary.decode(renumbered), corpus.vocabulary.decode(validation))
        XCTAssertEqual(fromFile.loss(renumbered).nats, original.loss(validation).nats, accuracy: 1e-9 * original.loss(validation).nats)
        // A network's checkpoint directory has no model.arpa: not an n-gram model.
        let network = scratch.appendingPathComponent("network")
        try FileManager.default.createDirectory(at: network, withIntermediateDirectories: true)
        XCTAssertNil(try NGramLanguageModel.open(network.path, tokenizer: nil))
        XCTAssertThrowsError(try NGramLanguageModel.open(directory.path, tokenizer: .word)) { error in
            XCTAssertTrue("\(error)".contains("only for a bare ARPA file"), "\(error)")
        }
    }

    func testSamplingIsSeededAndNeverDrawsTheStartOrUnknownWord() throws {
        let (model, _, _) = try written(order: 3, to: scratch.appendingPathComponent("lm"))
        func sample(seed: UInt64) throws -> String {
            var text = ""
            try model.generate(prime: [], length: 300, temperature: 1, topK: 0, seed: seed) { text += $0 }
            return text
        }
        let first = try sample(seed: 11)
        XCTAssertEqual(try sample(seed: 11), first)
        XCTAssertNotEqual(try sample(seed: 12), first)
        let known = Set(model.vocabulary.tokens)
        for word in first.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            XCTAssertTrue(known.contains(String(word)) && word != "<unk>" && word != "<s>", "drew \(word)")
        }
        XCTAssertTrue(first.contains("\n"), "a word model's </s> ends a line")
    }
}
