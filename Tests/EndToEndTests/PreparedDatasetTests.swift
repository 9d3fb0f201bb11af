import Foundation
import XCTest

/// `rnntrain prepare` and training from the prepared dataset: the same model bit for bit as
/// training from the text (np 1 and np 2, deterministic), resume across the two sources, and
/// one line and status 2 for each kind of damaged dataset.
final class PreparedDatasetTests: MultiRankTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // Our own text with "café", so characters and bytes differ.
        try ownText(characters: 6000).write(to: corpus, atomically: true, encoding: .utf8)
    }

    /// `rnntrain prepare` of the config's corpus into `name`; asserts success.
    @discardableResult
    func prepare(_ config: URL, _ name: String = "dataset", _ settings: [String] = [],
                 file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let out = scratch.appendingPathComponent(name)
        let r = try runTool(ranks: 0, ["prepare", "--config", config.path, "--out", out.path] + settings.flatMap { ["--set", $0] })
        XCTAssertEqual(r.status, 0, "prepare failed:\n\(r.output)", file: file, line: line)
        XCTAssertTrue(r.stdout.contains("prepared \(out.path):"), r.stdout, file: file, line: line)
        return out
    }

    func modelBytes(_ runDir: URL, step: Int) throws -> Data {
        try Data(contentsOf: checkpoint(runDir, step: step).appendingPathComponent("model.safetensors"))
    }

    func testPreparedDatasetTrainsTheSameModelAsTheTextAtOneAndTwoRanks() throws {
        for mode in ["stream", "windows"] {
            let settings = ["train.deterministic=true", "data.mode=\(mode)", "model.dropout=0.2"]
            let config = try writeConfig(extra: ["checkpoint": ["every: 30"]])
            let dataset = try prepare(config, "dataset-\(mode)")
            for ranks in [0, 2] {
                let text = try train(ranks: ranks, config: config, runDir: "text-\(mode)-\(ranks)", settings)
                let prepared = try train(ranks: ranks, config: config, runDir: "prepared-\(mode)-\(ranks)",
                                         settings + ["data.path=\(dataset.path)"])
                XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                               "\(mode) at np \(max(ranks, 1)): model.safetensors differs between text and prepared dataset")
            }
        }
    }

    func testWordAndByteDatasetsTrainTheSameModelAsTheText() throws {
        for tokenizer in ["word", "byte"] {
            let config = try writeConfig(extra: ["data": ["tokenizer: \(tokenizer)"], "checkpoint": ["every: 30"]])
            let dataset = try prepare(config, "dataset-\(tokenizer)")
            let text = try train(ranks: 0, config: config, runDir: "text-\(tokenizer)")
            let prepared = try train(ranks: 0, config: config, runDir: "prepared-\(tokenizer)", ["data.path=\(dataset.path)"])
            XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                           "\(tokenizer): model.safetensors differs between text and prepared dataset")
        }
    }

    func testARunStartedFromTextResumesFromThePreparedDatasetAndBack() throws {
        let config = try writeConfig(extra: ["checkpoint": ["every: 10"]])
        let dataset = try prepare(config)
        let whole = try train(ranks: 0, config: config, runDir: "whole", ["train.steps=20"])
        let fromText = try train(ranks: 0, config: config, runDir: "text-then-prepared", ["train.steps=10"])
        try train(ranks: 0, config: config, runDir: "text-then-prepared", ["train.steps=20", "data.path=\(dataset.path)"], resume: true)
        XCTAssertEqual(try modelBytes(whole, step: 20), try modelBytes(fromText, step: 20), "text, then resumed from the dataset")
        let fromPrepared = try train(ranks: 0, config: config, runDir: "prepared-then-text", ["train.steps=10", "data.path=\(dataset.path)"])
        try train(ranks: 0, config: config, runDir: "prepared-then-text", ["train.steps=20"], resume: true)
        XCTAssertEqual(try modelBytes(whole, step: 20), try modelBytes(fromPrepared, step: 20), "dataset, then resumed from the text")
    }

    func testEvalGivesTheSameLossOnTheDatasetAsOnItsValidationText() throws {
        let held = try write(ownText(characters: 1500, seed: 11), to: scratch.appendingPathComponent("held.txt"))
        let config = try writeConfig(extra: ["data": ["val_path: \"\(held.path)\""], "checkpoint": ["every: 30"]])
        let dataset = try prepare(config)
        let run = try train(ranks: 0, config: config, runDir: "run")
        let step = checkpoint(run, step: 30).path
        let fromText = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", held.path])
        let fromDataset = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", dataset.path])
        XCTAssertEqual(fromText.status, 0, fromText.stderr)
        XCTAssertEqual(fromDataset.status, 0, fromDataset.stderr)
        XCTAssertTrue(fromText.stdout.contains("\"loss\""), fromText.stdout)
        XCTAssertEqual(fromDataset.stdout, fromText.stdout, "eval on the dataset and on its validation text")

        // A dataset of another text has another vocabulary: its ids mean nothing to this model.
        let other = try write("zzz yyy xxx\n", to: scratch.appendingPathComponent("other.txt"))
        let otherDataset = try prepare(config, "other", ["data.path=\(other.path)", "data.val_path=\(other.path)"])
        let r = try Tool.rnntrain(["eval", "--checkpoint", step, "--data", otherDataset.path])
        assertBadInput(r, mentions: [otherDataset.path, "another vocabulary than the checkpoint's"], "eval on another vocabulary")
    }

    /// A copy of the dataset, damaged by `damage`, must stop training with one line naming
    /// `file` and status 2, and leave the run directory empty.
    func assertRefused(_ what: String, file name: String, mentions: [String] = [], settings: [String] = [],
                       damage: (URL) throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let config = try writeConfig()
        let dataset = try prepare(config, "dataset-\(UUID().uuidString)")
        try damage(dataset)
        let runDir = scratch.appendingPathComponent("run-\(UUID().uuidString)")
        let r = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", runDir.path, "--set", "data.path=\(dataset.path)"]
                            + settings.flatMap { ["--set", $0] })
        assertBadInput(Tool.Result(status: r.status, stdout: r.stdout, stderr: r.stderr),
                       mentions: [dataset.appendingPathComponent(name).path] + mentions, what, file: file, line: line)
        assertNothingWritten(runDir, what, file: file, line: line)
    }

    func edit(_ url: URL, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        change(&bytes)
        try Data(bytes).write(to: url)
    }

    func testATruncatedTokenFileIsRefused() throws {
        try assertRefused("truncated", file: "train.tokens", mentions: ["truncated"]) { dataset in
            try edit(dataset.appendingPathComponent("train.tokens")) { $0.removeLast(5) }
        }
    }

    func testAHeaderCountThatDisagreesWithTheSizeIsRefused() throws {
        try assertRefused("count", file: "validation.tokens", mentions: ["counts"]) { dataset in
            try edit(dataset.appendingPathComponent("validation.tokens")) { $0[16] &+= 1 }
        }
    }

    func testAVocabularyOtherThanTheHeadersIsRefused() throws {
        try assertRefused("vocabulary", file: "train.tokens", mentions: ["another vocabulary"]) { dataset in
            // Still a valid vocabulary of the same size: only the hash tells.
            try edit(dataset.appendingPathComponent("vocabulary.json")) { bytes in
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"a\"", with: "\"@\"")
                bytes = Array(text.utf8)
            }
        }
    }

    func testAnotherTokenizerThanTheConfigsIsRefused() throws {
        try assertRefused("tokenizer", file: "train.tokens", mentions: ["char tokenizer", "byte"], settings: ["data.tokenizer=byte"]) { _ in }
    }

    func testATokenIDBeyondTheVocabularyIsRefused() throws {
        try assertRefused("token id", file: "train.tokens", mentions: ["token 100 ", "vocabulary size"]) { dataset in
            try edit(dataset.appendingPathComponent("train.tokens")) { $0[128 + 100] = 0xF0 }
        }
    }

    /// The id check reads every file whole: a refusal that needs only the headers comes first.
    func testTheHeadersAreCheckedBeforeTheIDs() throws {
        try assertRefused("tokenizer and a bad id", file: "train.tokens", mentions: ["char tokenizer"],
                          settings: ["data.tokenizer=byte"]) { dataset in
            try edit(dataset.appendingPathComponent("train.tokens")) { $0[128 + 100] = 0xF0 }
        }
    }

    func testAHeaderVocabularySizeLargerThanTheVocabularyIsRefused() throws {
        // The ids of validation.tokens are checked against its header's |V|, raised here to 200
        // (still a 1-byte width) so that an id of 150 would pass that check on its own.
        try assertRefused("header vocabulary size", file: "validation.tokens", mentions: ["header says 200 tokens"]) { dataset in
            try edit(dataset.appendingPathComponent("validation.tokens")) { bytes in
                bytes[24] = 200
                bytes[128 + 3] = 150
            }
        }
    }

    func testPrepareRefusesAnExistingOutput() throws {
        let config = try writeConfig()
        let secret = try write("keep me\n", to: scratch.appendingPathComponent("secret.txt"))
        for kind in ["FIFO", "symlink", "directory", "file"] {
            let out = scratch.appendingPathComponent("out-\(kind)")
            switch kind {
            case "FIFO": XCTAssertEqual(mkfifo(out.path, 0o644), 0)
            case "symlink": XCTAssertEqual(symlink(scratch.appendingPathComponent("elsewhere").path, out.path), 0)
            case "directory": try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            default: try FileManager.default.copyItem(at: secret, to: out)
            }
            let r = try Tool.rnntrain(["prepare", "--config", config.path, "--out", out.path])
            assertBadInput(r, mentions: [out.path], "prepare --out at a \(kind)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("elsewhere").path),
                           "prepare followed the link")
        }
        XCTAssertEqual(try String(contentsOf: secret, encoding: .utf8), "keep me\n")
    }

    /// A token file cut while a run has it mapped: the next read past its new end is SIGBUS, which
    /// must be one line naming the file and status 2, not a death by signal; the checkpoints
    /// written before stay valid.
    func testATokenFileTruncatedWhileMappedEndsTheRunWithOneLine() throws {
        try String(repeating: ownText(characters: 6000), count: 40).write(to: corpus, atomically: true, encoding: .utf8)
        let config = try writeConfig(extra: ["checkpoint": ["every: 5"]])
        let dataset = try prepare(config)
        let run = scratch.appendingPathComponent("truncated")
        let job = try startTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path,
                                           "--set", "train.steps=1000000", "--set", "data.path=\(dataset.path)"])
        let first = checkpoint(run, step: 5).appendingPathComponent("SHA256SUMS")
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: first.path), Date() < deadline { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.path), "no checkpoint within 30 s")
        let tokens = dataset.appendingPathComponent("train.tokens")
        XCTAssertEqual(truncate(tokens.path, 4096), 0, String(cString: strerror(errno)))
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 2, "status \(r.status) (a signal shows as its number + 128 or as -1):\n\(r.stderr)")
        let errors = r.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("rnntrain: \(tokens.path): shrank while this run had it mapped"), r.stderr)
        let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"],
                                 directory: checkpoint(run, step: 5))
        XCTAssertEqual(check.status, 0, "the checkpoint written before the cut: \(check.stdout)")
    }

    /// A directory of text files whose boundaries sit next to multi-byte scalars, some without a
    /// final newline, one empty, one hidden: text made mostly of 2-, 3- and 4-byte scalars, so
    /// that the ranks' equal shares of it fall inside scalars and words.
    func writeTextDirectory() throws -> URL {
        let texts = scratch.appendingPathComponent("texts")
        try FileManager.default.createDirectory(at: texts, withIntermediateDirectories: false)
        let pieces = ["\u{1D11E}\u{1D11E}\u{E9}", "\u{2603}x", " ", "\u{E9}\u{1D11E}", "\n", "a\u{2603}\u{2603}", "\t"]
        for (i, length) in [900, 1, 0, 777, 1300].enumerated() {
            let text = (0..<length).map { pieces[($0 * 7 + i * 3 + $0 / 5) % pieces.count] }.joined()
            try write(text + (i == 1 ? "\u{E9}" : ""), to: texts.appendingPathComponent("part-\(i).txt"))
        }
        try write("hidden\n", to: texts.appendingPathComponent(".hidden"))
        return texts
    }

    /// The dataset's files by name.
    func contents(_ dataset: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dataset.path) {
            files[name] = try Data(contentsOf: dataset.appendingPathComponent(name))
        }
        return files
    }

    func testPrepareWritesTheSameBytesAtOneTwoAndFourRanks() throws {
        let texts = try writeTextDirectory()
        for tokenizer in ["char", "word"] {
            let config = try writeConfig("config-\(tokenizer).yaml", dataPath: texts.path,
                                         extra: ["data": ["tokenizer: \(tokenizer)", "val_fraction: 0.3"]])
            var one: [String: Data] = [:]
            for ranks in [0, 2, 4] {
                let out = scratch.appendingPathComponent("dataset-\(tokenizer)-\(ranks)")
                let r = try runTool(ranks: ranks, ["prepare", "--config", config.path, "--out", out.path])
                XCTAssertEqual(r.status, 0, r.output)
                XCTAssertEqual(r.stdout.components(separatedBy: "prepared ").count, 2, "one summary line: \(r.stdout)")
                if ranks > 0 { XCTAssertTrue(r.stdout.contains("ranks: "), "per-rank throughput: \(r.stdout)") }
                let files = try contents(out)
                XCTAssertEqual(files.keys.sorted(), ["SHA256SUMS", "train.tokens", "validation.tokens", "vocabulary.json"])
                if ranks == 0 {
                    one = files
                } else {
                    for (name, bytes) in files { XCTAssertEqual(bytes, one[name], "\(tokenizer): \(name) at np \(ranks) differs from np 1") }
                }
                let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: out)
                XCTAssertEqual(check.status, 0, check.stdout)
            }
        }
        // Training from the directory of text and from its dataset: the same model.
        let config = try writeConfig("config-train.yaml", dataPath: texts.path,
                                     extra: ["data": ["val_fraction: 0.3"], "checkpoint": ["every: 30"]])
        let text = try train(ranks: 0, config: config, runDir: "from-texts")
        let prepared = try train(ranks: 0, config: config, runDir: "from-dataset",
                                 ["data.path=\(scratch.appendingPathComponent("dataset-char-0").path)"])
        XCTAssertEqual(try modelBytes(text, step: 30), try modelBytes(prepared, step: 30),
                       "model.safetensors differs between the directory of text and its dataset")
    }

    func testPrepareRefusesABadListingWithOneLine() throws {
        let texts = try writeTextDirectory()
        let fifo = texts.appendingPathComponent("part-9.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let config = try writeConfig()
        for ranks in [0, 2] {
            for (path, mentions) in [(texts.path, [fifo.path, "FIFO"]), (texts.path + "/*.none", [texts.path + "/*.none", "no file matches"])] {
                let out = scratch.appendingPathComponent("refused-\(ranks)")
                let r = try runTool(ranks: ranks, ["prepare", "--config", config.path, "--out", out.path, "--set", "data.path=\(path)"])
                let what = "prepare of \(path) at np \(max(ranks, 1))"
                if ranks == 0 {
                    assertBadInput(Tool.Result(status: r.status, stdout: r.stdout, stderr: r.stderr), mentions: mentions, what)
                } else {
                    // mpirun adds its own lines about the exit status; the cause is said once.
                    XCTAssertEqual(r.status, 2, what)
                    let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("rnntrain: ") }
                    XCTAssertEqual(lines.count, 1, "\(what): \(r.stderr)")
                    for mention in mentions { XCTAssertTrue(lines.first?.contains(mention) == true, "\(what): \(r.stderr)") }
                }
                XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".tmp") }, [])
    }

    /// On a terminal (a pty from script(1)) a progress line with \r and MB/s; none into a file.
    func testProgressIsShownOnATerminalOnly() throws {
        let config = try writeConfig()
        let out = scratch.appendingPathComponent("progress")
        let command = "\(Tool.binary.path) prepare --config \(config.path) --out \(out.path)"
        let r = try Tool.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("\r\u{1B}[Kprepare: counting ") && r.stdout.contains("MB/s"), r.stdout)
        let plain = try runTool(ranks: 0, ["prepare", "--config", config.path, "--out", out.path + "-plain"])
        XCTAssertEqual(plain.stderr, "")
    }
}
