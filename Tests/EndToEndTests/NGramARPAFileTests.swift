import Foundation
import XCTest

/// ARPA files as users bring them: another tool's bare file (no words.txt, config.yaml or
/// SHA256SUMS, 1-grams in its own order), KenLM's −99 for "never", and numbers no loss survives.
/// Each must give the loss the file's numbers give, or one line and status 2; never a null loss
/// with status 0.
final class NGramARPAFileTests: XCTestCase {
    /// A model of `order` estimated by `rnntrain ngram` from invented text with `tokenizer`, and a held-out text.
    private func estimated(_ tokenizer: String, order: Int, in dir: URL) throws -> (run: URL, heldOut: URL) {
        let data = try write(ownText(characters: 3_000), to: dir.appendingPathComponent("text.txt"))
        let config = try write(tinyConfig(data: data, extra: ["data": [("tokenizer", tokenizer)]]),
                               to: dir.appendingPathComponent("tiny.yaml"))
        let run = dir.appendingPathComponent("run-\(tokenizer)")
        let r = try Tool.rnntrain(["ngram", "--config", config.path, "--set", "ngram.order=\(order)", "--run-dir", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (run, try write(ownText(characters: 600, seed: 3), to: dir.appendingPathComponent("held-out.txt")))
    }

    /// Rewrites the manifest over `run`'s three files, as anyone can with sha256sum.
    private func resum(_ run: URL) throws {
        let sums = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["config.yaml", "model.arpa", "words.txt"], directory: run)
        try sums.stdout.write(to: run.appendingPathComponent("SHA256SUMS"), atomically: true, encoding: .utf8)
    }

    func testMinusInfWithAMatchingManifestIsOneLine() throws {
        let dir = try scratchDirectory(self)
        let (run, heldOut) = try estimated("char", order: 3, in: dir)
        let model = run.appendingPathComponent("model.arpa")
        var arpa = try String(contentsOf: model, encoding: .utf8).components(separatedBy: "\n")
        let bigram = arpa.firstIndex(of: "\\2-grams:")! + 1
        arpa[bigram] = "-inf\t" + arpa[bigram].split(separator: "\t")[1]
        try arpa.joined(separator: "\n").write(to: model, atomically: true, encoding: .utf8)
        try resum(run)
        for command in [["eval", "--checkpoint", run.path, "--data", heldOut.path], ["sample", "--checkpoint", run.path]] {
            assertBadInput(try Tool.rnntrain(command), mentions: [model.path, "ARPA line \(bigram + 1)", "\"-inf\" is not a finite number"],
                           "\(command[0]) of a -inf probability")
        }
    }

    /// −99 is 10^−99, as KenLM reads it: a finite loss, the sum of the file's numbers worked out here.
    func testMinus99GivesTheLossOfTheFilesNumbers() throws {
        let dir = try scratchDirectory(self)
        let arpa = try write("""
            \\data\\
            ngram 1=5
            ngram 2=3

            \\1-grams:
            -99\t<s>\t-0.30103
            -0.5\t</s>
            -1\t<unk>
            -0.25\ta\t-0.2
            -99\tb

            \\2-grams:
            -0.1\t<s> a
            -0.2\ta </s>
            -0.3\ta a

            \\end\\

            """, to: dir.appendingPathComponent("lm.arpa"))
        let text = try write("a b\nb a\n", to: dir.appendingPathComponent("text.txt"))
        let r = try Tool.rnntrain(["eval", "--checkpoint", arpa.path, "--data", text.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let scored = try XCTUnwrap(jsonObject(r.stdout), r.stdout)
        // <s> a b </s>: p(a|<s>) -0.1; p(b|a), no "a b": backoff(a) -0.2 + p(b) -99; p(</s>|b), b no context: -0.5.
        // <s> b a </s>: backoff(<s>) -0.30103 + p(b) -99; p(a) -0.25; p(</s>|a) -0.2.
        let log10Sum = -0.1 + (-0.2 - 99) - 0.5 + (-0.30103 - 99) - 0.25 - 0.2
        XCTAssertEqual(try XCTUnwrap(number(scored["loss"])), -log10Sum * log(10) / 6, accuracy: 1e-9)
        XCTAssertEqual(number(scored["tokens"]), 6)
    }

    func testBareFileScoresAsItsDirectory() throws {
        let dir = try scratchDirectory(self)
        for (tokenizer, order) in [("word", 3), ("char", 4)] {
            let (run, heldOut) = try estimated(tokenizer, order: order, in: dir)
            let byDirectory = try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", heldOut.path])
            XCTAssertEqual(byDirectory.status, 0, byDirectory.stderr)
            // As lmplz orders its 1-grams: <unk>, <s>, </s> first. Alone in a directory, under the name model.arpa.
            var lines = try String(contentsOf: run.appendingPathComponent("model.arpa"), encoding: .utf8).components(separatedBy: "\n")
            let first = lines.firstIndex(of: "\\1-grams:")! + 1, end = lines[first...].firstIndex(of: "")!
            let boundary = ["<unk>", "<s>", "</s>"].map { word in lines[first..<end].first { $0.split(separator: "\t")[1] == word }! }
            lines[first..<end] = ArraySlice(boundary + lines[first..<end].filter { !boundary.contains($0) })
            let alone = dir.appendingPathComponent("alone-\(tokenizer)")
            try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: false)
            let bare = try write(lines.joined(separator: "\n"), to: alone.appendingPathComponent("model.arpa"))
            let byFile = try Tool.rnntrain(["eval", "--checkpoint", bare.path, "--data", heldOut.path])
            XCTAssertEqual(byFile.status, 0, byFile.stderr)
            XCTAssertEqual(byFile.stdout, byDirectory.stdout, "\(tokenizer): the bare file is the directory's model")
            let sample = ["sample", "--length", "60", "--seed", "4", "--checkpoint"]
            XCTAssertEqual(try Tool.rnntrain(sample + [bare.path]).stdout, try Tool.rnntrain(sample + [run.path]).stdout, tokenizer)
            assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", heldOut.path, "--tokenizer", "word"]),
                           mentions: ["--tokenizer", "config.yaml"], "\(tokenizer): --tokenizer for a directory")
        }
    }

    func testDamagedWordsNameTheirFile() throws {
        let dir = try scratchDirectory(self)
        let (run, heldOut) = try estimated("char", order: 2, in: dir)
        let words = run.appendingPathComponent("words.txt")
        var lines = try String(contentsOf: words, encoding: .utf8).components(separatedBy: "\n")
        lines[1] = lines[0]
        try lines.joined(separator: "\n").write(to: words, atomically: true, encoding: .utf8)
        try resum(run)
        assertBadInput(try Tool.rnntrain(["eval", "--checkpoint", run.path, "--data", heldOut.path]),
                       mentions: [words.path, "duplicate"], "a word listed twice in words.txt")
    }

    /// Finite numbers whose sum is not: the JSON has null, stderr one line, status 2; `sample`
    /// refuses a distribution that overflows rather than draw the last token every time.
    func testNumbersBeyondADoubleAreOneLine() throws {
        let dir = try scratchDirectory(self)
        func arpa(a: String, backoff: String) -> String {
            "\\data\\\nngram 1=4\nngram 2=1\n\n\\1-grams:\n-99\t<s>\n-0.5\t</s>\n-1\t<unk>\n\(a)\ta\t\(backoff)\n\n\\2-grams:\n-0.1\ta </s>\n\n\\end\\\n"
        }
        let text = try write("a a\n", to: dir.appendingPathComponent("text.txt"))
        let small = try write(arpa(a: "-1e308", backoff: "-0.1"), to: dir.appendingPathComponent("small.arpa"))
        let r = try Tool.rnntrain(["eval", "--checkpoint", small.path, "--data", text.path])
        assertBadInput(r, mentions: [text.path, "loss", "perplexity", "not finite"], "a log10 probability of -1e308")
        let printed = try XCTUnwrap(jsonObject(r.stdout), r.stdout)
        XCTAssertTrue(printed["loss"] is NSNull, r.stdout)

        let large = try write(arpa(a: "-0.3", backoff: "400"), to: dir.appendingPathComponent("large.arpa"))
        assertBadInput(try Tool.rnntrain(["sample", "--checkpoint", large.path, "--prime", "a", "--length", "5"]),
                       mentions: ["not a distribution"], "a backoff of 10^400")
    }
}
