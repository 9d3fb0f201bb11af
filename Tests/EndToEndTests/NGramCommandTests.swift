import XCTest

/// `rnntrain ngram` and `rnntrain eval` of what it writes, as a user runs them. The model's
/// numbers are checked against KenLM by launch/test-kenlm and derived by hand in NGramTests; these
/// tests check the files, the command line and bad input.
final class NGramCommandTests: XCTestCase {
    private func setUp(_ text: String) throws -> (dir: URL, config: URL) {
        let dir = try scratchDirectory(self)
        let data = try write(text, to: dir.appendingPathComponent("text.txt"))
        return (dir, try write(tinyConfig(data: data), to: dir.appendingPathComponent("tiny.yaml")))
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
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: run.path)), ["model.arpa", "words.txt", "config.yaml"])
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
        let (dir, config) = try setUp(ownText(characters: 3_000))
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=3", "--run-dir", run.path]).status, 0)
        let model = run.appendingPathComponent("model.arpa")
        let bytes = try Data(contentsOf: model)
        try bytes.prefix(bytes.count / 2).write(to: model)
        let r = try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", config.path])
        assertBadInput(r, mentions: [model.path], "a truncated model.arpa")
    }
}
