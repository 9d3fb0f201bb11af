import TestSupport
import XCTest

/// `rnntrain ngram` and `rnntrain eval` of what it writes, as a user runs them. The model's
/// numbers are checked against KenLM by launch/stages/kenlm and derived by hand in NGramTests; these
/// tests check the files, the command line and bad input.
final class NGramCommandTests: XCTestCase {
    private func setUp(_ text: String) throws -> (dir: URL, config: URL) {
        let dir = try scratchDirectory(self)
        let data = try write(text, to: dir.appendingPathComponent("text.txt"))
        return (dir, try write(tinyConfig(data: data), to: dir.appendingPathComponent("tiny.yaml")))
    }

    /// A char model of `order` estimated from `text` into `run` beside the config.
    private func estimated(_ text: String, order: Int = 3,
                           file: StaticString = #filePath, line: UInt = #line) throws -> (config: URL, run: URL) {
        let (dir, config) = try setUp(text)
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=\(order)", "--run-dir", run.path])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return (config, run)
    }

    func testWritesTheModelThatEvalReadsBack() throws {
        let (dir, config) = try setUp(ownText(characters: 6_000))
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=4", "--run-dir", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(jsonObject(r.stdout))
        XCTAssertEqual(number(summary["order"]), 4)
        let ngrams = try XCTUnwrap(summary["ngrams"] as? [Any]).compactMap(number)
        XCTAssertEqual(ngrams.count, 4, "n-grams of orders 1 to 4")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: run.path)),
                       ["model.arpa", "words.txt", "config.yaml", "SHA256SUMS"])
        let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: run)
        XCTAssertEqual(check.status, 0, "sha256sum -c verifies the manifest:\n\(check.stdout)\(check.stderr)")
        XCTAssertEqual(lines(check.stdout).count, 3, "the manifest lists the three files:\n\(check.stdout)")
        let arpa = try String(contentsOf: run.appendingPathComponent("model.arpa"), encoding: .utf8)
        for (n, count) in ngrams.enumerated() {
            XCTAssertTrue(arpa.contains("ngram \(n + 1)=\(Int(count))\n"), "the ARPA header counts what the summary says")
        }

        let heldOut = ownText(characters: 800, seed: 11)
        let text = try write(heldOut, to: dir.appendingPathComponent("held-out.txt"))
        let byDirectory = try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", text.path])
        let byFile = try Tool.rnntrain(["eval", "--checkpoint", run.appendingPathComponent("model.arpa").path, "--data", text.path])
        XCTAssertEqual(byDirectory.status, 0, byDirectory.stderr)
        XCTAssertEqual(byDirectory.stdout, byFile.stdout, "the run directory and its model.arpa are the same model")
        let scored = try XCTUnwrap(jsonObject(byDirectory.stdout))
        let loss = try XCTUnwrap(number(scored["loss"]))
        XCTAssertEqual(number(scored["tokens"]), Double(heldOut.unicodeScalars.count), "a char model scores every character of the text")
        XCTAssertGreaterThan(loss, 0)
        XCTAssertEqual(try XCTUnwrap(number(scored["bits_per_token"])), loss / log(2), accuracy: 1e-12)
    }

    func testBadInputIsOneLine() throws {
        let (dir, config) = try setUp("abcab")
        let run = dir.appendingPathComponent("run")
        for order in ["0", "17"] {
            let r = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=\(order)", "--run-dir", run.path])
            assertBadInput(r, mentions: ["ngram.order", order], "order \(order)")
        }
        let short = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "data.val_fraction=0",
                                       "--set", "ngram.order=8", "--run-dir", run.path])
        assertBadInput(short, mentions: ["fewer than ngram.order 8"], "a corpus shorter than the order")
        assertNothingWritten(run, "refused runs")
    }

    func testDamagedModelIsOneLineNamingTheFile() throws {
        let (config, run) = try estimated(ownText(characters: 3_000))
        let model = run.appendingPathComponent("model.arpa")
        let bytes = try Data(contentsOf: model)
        try bytes.prefix(bytes.count / 2).write(to: model)
        let r = try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", config.path])
        assertBadInput(r, mentions: [model.path], "a truncated model.arpa")
    }

    /// A model file that is not the one written: the manifest names it before the ARPA reader runs.
    func testEditedModelFailsItsChecksum() throws {
        let (config, run) = try estimated(ownText(characters: 3_000))
        let model = run.appendingPathComponent("model.arpa")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: model)
        assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", config.path]),
                       mentions: [model.path, "checksum mismatch"], "a flipped bit in model.arpa")
        assertBadInput(try Tool.rnntrain(["sample", "--checkpoint", run.path]),
                       mentions: [model.path, "checksum mismatch"], "sample of a flipped bit")
        try FileManager.default.removeItem(at: run.appendingPathComponent("SHA256SUMS"))
        assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", model.path, "--data", config.path]),
                       mentions: ["SHA256SUMS", "missing"], "no manifest")
    }

    /// Hostile model files that carry a matching manifest (as anyone can write with sha256sum):
    /// the ARPA reader itself refuses each with one line; mutated copies of a real model end with
    /// status 0 or 2, never a crash or a hang.
    func testHostileModelWithAValidManifestIsOneLine() throws {
        let (config, run) = try estimated(ownText(characters: 3_000))
        let model = run.appendingPathComponent("model.arpa")
        let original = [UInt8](try Data(contentsOf: model))
        func install(_ bytes: [UInt8]) throws {
            try Data(bytes).write(to: model)
            let sums = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["config.yaml", "model.arpa", "words.txt"], directory: run)
            try sums.stdout.write(to: run.appendingPathComponent("SHA256SUMS"), atomically: true, encoding: .utf8)
        }
        let hostile: [(String, [UInt8])] = [
            ("a header claiming 10^15 n-grams", Array("\\data\\\nngram 1=1000000000000000\n\n\\1-grams:\n".utf8)),
            ("not ARPA", Array("hello\n".utf8)),
            ("empty", []),
        ]
        for (what, bytes) in hostile {
            try install(bytes)
            assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", config.path]), mentions: [model.path], what)
        }
        var rng = SplitMix(seed: 13)
        var refused = 0
        for round in 0..<40 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.remove(at: at)
                default: bytes.insert(Array("\n \t-9e99".utf8)[Int(rng.next() % 7)], at: at)
                }
            }
            try install(bytes)
            let r = try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", config.path])
            XCTAssertTrue(r.status == 0 || r.status == 2, "mutation \(round): status \(r.status)\n\(r.stderr)")
            if r.status == 2 {
                refused += 1
                XCTAssertEqual(lines(r.stderr).count, 1, "mutation \(round): one line\n\(r.stderr)")
            }
        }
        XCTAssertGreaterThan(refused, 10, "most mutations break the ARPA structure")
    }

    /// `rnntrain sample` of an n-gram model. On a text that repeats one pattern, the most likely
    /// next token (`--top-k 1`) is always the pattern's next one: the sample continues it exactly.
    func testSampleFollowsTheModel() throws {
        let (_, run) = try estimated(String(repeating: "abcd", count: 300))
        let greedy = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--prime", "ab", "--length", "10", "--top-k", "1"])
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertEqual(greedy.stdout, "abcdabcdabcd\n", "the prime, then the pattern continued")

        let fromStart = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "6", "--top-k", "1"])
        XCTAssertEqual(fromStart.stdout, "abcdab\n", "from <s>, the text's own start")

        let a = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "200", "--temperature", "3", "--seed", "5"])
        let b = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "200", "--temperature", "3", "--seed", "5"])
        let c = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "200", "--temperature", "3", "--seed", "6"])
        XCTAssertEqual(a.stdout, b.stdout, "one seed, one text")
        XCTAssertNotEqual(a.stdout, c.stdout, "another seed, another text")
        XCTAssertEqual(a.stdout.count, 201)
        XCTAssertTrue(Set(a.stdout.dropLast()).isSubset(of: Set("abcd")), "only the vocabulary's characters: \(a.stdout)")
        XCTAssertNotEqual(Set(a.stdout.dropLast()).count, 1, "a hot sample leaves the pattern")
    }

    /// A word model: `</s>` ends a line and the next starts from `<s>`; `<unk>` is never drawn.
    func testWordSampleEndsLinesAtSentenceEnds() throws {
        let dir = try scratchDirectory(self)
        let data = try write(String(repeating: "the cat sat\n", count: 200), to: dir.appendingPathComponent("text.txt"))
        let config = try write(tinyConfig(data: data, extra: ["data": [("tokenizer", "word")]]), to: dir.appendingPathComponent("tiny.yaml"))
        let run = dir.appendingPathComponent("run")
        let made = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=2", "--run-dir", run.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let greedy = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "8", "--top-k", "1"])
        XCTAssertEqual(greedy.stdout, "the cat sat \nthe cat sat \n\n", greedy.stderr)
        let hot = try Tool.rnntrain(["sample", "--checkpoint", run.path, "--length", "300", "--temperature", "5", "--seed", "2"])
        XCTAssertEqual(hot.status, 0, hot.stderr)
        XCTAssertFalse(hot.stdout.contains("<unk>"), hot.stdout)
        XCTAssertTrue(Set(hot.stdout.split(whereSeparator: \.isWhitespace)).isSubset(of: ["the", "cat", "sat"]), hot.stdout)
    }
}
