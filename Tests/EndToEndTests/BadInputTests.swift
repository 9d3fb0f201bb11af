import Foundation
import Glibc
import TestSupport
import XCTest

/// Bad input gets ONE clear line on stderr and exit status 2, nothing half-written; help exits 0.
final class BadInputTests: XCTestCase {
    private var dir: URL!
    private var text: URL!
    private var runDir: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 1500), to: dir.appendingPathComponent("text.txt"))
        runDir = dir.appendingPathComponent("run")
    }

    /// Trains with `config` (and `extra` arguments), expects the bad-input rule, and that the
    /// run directory stays empty.
    private func assertTrainRefused(_ config: String, extra: [String] = [], mentions: [String], _ what: String,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try train(config, in: dir, runDir: runDir, extra: extra)
        assertBadInput(r, mentions: mentions, what, file: file, line: line)
        assertNothingWritten(runDir, what, file: file, line: line)
    }

    // MARK: The config file

    func testMissingConfigFile() throws {
        let missing = dir.appendingPathComponent("no-such-config.yaml").path
        let r = try Tool.rnntrain(["train", "--config", missing, "--run-dir", runDir.path])
        assertBadInput(r, mentions: [missing], "missing config")
        assertNothingWritten(runDir, "missing config")
    }

    func testMalformedYAML() throws {
        let url = try write("model:\n  hidden: [12, 16\ntrain:\n  steps: 6\n", to: dir.appendingPathComponent("broken.yaml"))
        let r = try Tool.rnntrain(["train", "--config", url.path, "--run-dir", runDir.path])
        assertBadInput(r, mentions: [url.path], "unclosed flow list")
        assertNothingWritten(runDir, "malformed YAML")

        let tabs = try write("model:\n\thidden: 12\n", to: dir.appendingPathComponent("tabs.yaml"))
        let t = try Tool.rnntrain(["train", "--config", tabs.path, "--run-dir", runDir.path])
        assertBadInput(t, mentions: [tabs.path], "tab indentation")
        assertNothingWritten(runDir, "tab indentation")
    }

    func testUnknownKey() throws {
        let config = tinyConfig(data: text, extra: ["train": [("seq_lenn", "8")]])
        try assertTrainRefused(config, mentions: ["train.seq_lenn"], "misspelt key")
    }

    func testUnknownSection() throws {
        let config = tinyConfig(data: text) + "modle:\n  hidden: 3\n"
        try assertTrainRefused(config, mentions: ["modle"], "misspelt section")
    }

    func testWrongType() throws {
        try assertTrainRefused(tinyConfig(data: text, extra: ["model": [("hidden", "twelve")]]),
                               mentions: ["model.hidden"], "hidden: twelve")
        try assertTrainRefused(tinyConfig(data: text, extra: ["train": [("steps", "2.5")]]),
                               mentions: ["train.steps"], "steps: 2.5")
        try assertTrainRefused(tinyConfig(data: text, extra: ["model": [("bidirectional", "sometimes")]]),
                               mentions: ["model.bidirectional"], "bidirectional: sometimes")
    }

    func testImpossibleValues() throws {
        let cases: [(String, [String: [(String, String)]])] = [
            ("optimizer.lr", ["optimizer": [("lr", "0")]]),
            ("optimizer.lr", ["optimizer": [("lr", "-0.01")]]),
            ("model.hidden", ["model": [("hidden", "0")]]),
            ("train.seq_len", ["train": [("seq_len", "0")]]),
            ("model.dropout", ["model": [("dropout", "1")]]),
            ("model.bidirectional", ["model": [("bidirectional", "true")], "data": [("task", "lm")]]),
            ("model.tie_weights", ["model": [("tie_weights", "true"), ("embedding", "8"), ("hidden", "12")]]),
        ]
        for (key, extra) in cases {
            try assertTrainRefused(tinyConfig(data: text, extra: extra), mentions: [key], "\(key) \(extra)")
        }
    }

    // MARK: The data

    func testMissingDataFile() throws {
        let missing = dir.appendingPathComponent("absent.txt")
        try assertTrainRefused(tinyConfig(data: missing), mentions: [missing.path], "missing data file")
    }

    func testEmptyDataFile() throws {
        let empty = try write("", to: dir.appendingPathComponent("empty.txt"))
        try assertTrainRefused(tinyConfig(data: empty), mentions: [empty.path], "empty data file")
    }

    func testInvalidUTF8WithCharTokenizer() throws {
        // 0xFF can never occur in UTF-8; put it at byte 11, well inside the training part.
        let prefix = Array("Warm bread ".utf8)
        XCTAssertEqual(prefix.count, 11)
        let bytes = prefix + [0xFF] + Array(ownText(characters: 1500).utf8)
        let bad = try write(bytes: bytes, to: dir.appendingPathComponent("latin1.txt"))
        let r = try train(tinyConfig(data: bad), in: dir, runDir: runDir)
        assertBadInput(r, mentions: [bad.path, "UTF-8"], "invalid UTF-8")
        let message = lines(r.stderr).first ?? ""
        XCTAssertNotNil(message.range(of: #"\b11\b"#, options: .regularExpression),
                        "the line does not give the byte offset 11: \(message)")
        assertNothingWritten(runDir, "invalid UTF-8")
    }

    func testCorpusTooSmallForTheBatch() throws {
        // 50 characters (45 after the 10 % validation split) cannot fill 4 streams of 33 tokens.
        let small = try write(String(ownText(characters: 200).prefix(50)), to: dir.appendingPathComponent("small.txt"))
        let config = tinyConfig(data: small, extra: ["train": [("global_batch", "4"), ("seq_len", "32")]])
        try assertTrainRefused(config, mentions: [small.path], "50-byte corpus, B 4, τ 32")
    }

    /// Within every cap, yet about 94 TiB per rank: refused with the sizes before anything is
    /// allocated, instead of a failed allocation or the OOM killer.
    func testModelTooLargeForTheMachine() throws {
        let config = tinyConfig(data: text, extra: ["model": [("hidden", "60000"), ("layers", "200")]])
        try assertTrainRefused(config, mentions: ["per rank", "TiB", "model.hidden"], "200 × 60000 LSTM")
    }

    // MARK: The command line

    func testSetWithoutEquals() throws {
        try assertTrainRefused(tinyConfig(data: text), extra: ["--set", "train.steps"], mentions: ["--set", "train.steps"],
                               "--set without =")
    }

    func testSetUnknownKey() throws {
        try assertTrainRefused(tinyConfig(data: text), extra: ["--set", "train.seq_lenn=8"], mentions: ["train.seq_lenn"],
                               "--set unknown key")
    }

    /// Config reads a cell's name by its form; the registry, which it does not see, refuses a name
    /// no cell declares, from the file and from `--set` alike, before anything is written.
    func testACellNoOneRegisteredIsRefused() throws {
        let config = tinyConfig(data: text, extra: ["model": [("cell", "transformer")]])
        try assertTrainRefused(config, mentions: ["model.cell", "lstm", "mgu", "mlp", "\"transformer\""], "model.cell: transformer")
        try assertTrainRefused(tinyConfig(data: text), extra: ["--set", "model.cell=minimal"],
                               mentions: ["model.cell", "gru", "\"minimal\""], "--set model.cell=minimal")
    }

    func testSetWrongType() throws {
        try assertTrainRefused(tinyConfig(data: text), extra: ["--set", "train.steps=many"], mentions: ["train.steps"],
                               "--set wrong type")
    }

    func testResumeFromSomethingThatIsNotACheckpoint() throws {
        let notCheckpoint = dir.appendingPathComponent("just-a-folder")
        try FileManager.default.createDirectory(at: notCheckpoint, withIntermediateDirectories: true)
        try write("hello\n", to: notCheckpoint.appendingPathComponent("notes.txt"))
        try assertTrainRefused(tinyConfig(data: text), extra: ["--resume", notCheckpoint.path],
                               mentions: [notCheckpoint.path], "--resume at a plain directory")

        let nowhere = dir.appendingPathComponent("nowhere")
        try assertTrainRefused(tinyConfig(data: text), extra: ["--resume", nowhere.path],
                               mentions: [nowhere.path], "--resume at a missing path")
    }

    // MARK: eval, sample, inspect, gradcheck

    func testMissingCheckpointDirectory() throws {
        let missing = dir.appendingPathComponent("checkpoints/step-00000042").path
        let commands: [[String]] = [
            ["eval", "--checkpoint", missing, "--data", text.path],
            ["sample", "--checkpoint", missing, "--length", "5"],
            ["inspect", missing],
        ]
        for arguments in commands {
            let r = try Tool.rnntrain(arguments)
            assertBadInput(r, mentions: [missing], arguments[0])
            XCTAssertEqual(r.stdout, "", "\(arguments[0]) printed output for a missing checkpoint")
        }
    }

    /// A 6-step checkpoint of the tiny LSTM in `dir/trained`.
    private func trainedCheckpoint() throws -> URL {
        let run = dir.appendingPathComponent("trained")
        let r = try train(tinyConfig(data: text, extra: ["checkpoint": [("every", "0")]]), in: dir, runDir: run,
                          name: "trained.yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        return run.appendingPathComponent("checkpoints/step-00000006")
    }

    func testEvalWithMissingDataFile() throws {
        let checkpoint = try trainedCheckpoint()
        let missing = dir.appendingPathComponent("held-out.txt").path
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", missing])
        assertBadInput(r, mentions: [missing], "eval --data missing")
    }

    func testInspectNamesTheDamagedFile() throws {
        let original = try trainedCheckpoint()

        // One flipped bit in the middle of the weights.
        let flipped = dir.appendingPathComponent("flipped")
        try FileManager.default.copyItem(at: original, to: flipped)
        let model = flipped.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: model))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: model)
        let r = try Tool.rnntrain(["inspect", flipped.path])
        assertBadInput(r, mentions: ["model.safetensors"], "inspect, flipped byte")
        XCTAssertFalse(lines(r.stderr).first?.contains("state.safetensors") ?? false, "blames the wrong file: \(r.stderr)")

        // The training state cut in half.
        let truncated = dir.appendingPathComponent("truncated")
        try FileManager.default.copyItem(at: original, to: truncated)
        let state = truncated.appendingPathComponent("state.safetensors")
        let whole = try Data(contentsOf: state)
        try whole.prefix(whole.count / 2).write(to: state)
        let t = try Tool.rnntrain(["inspect", truncated.path])
        assertBadInput(t, mentions: ["state.safetensors"], "inspect, truncated state")
        XCTAssertFalse(lines(t.stderr).first?.contains("model.safetensors") ?? false, "blames the wrong file: \(t.stderr)")

        // The undamaged original still inspects fine: the failures above are the damage's doing.
        XCTAssertEqual(try Tool.rnntrain(["inspect", original.path]).status, 0)
    }

    func testGradcheckWithUnknownCell() throws {
        let r = try Tool.rnntrain(["gradcheck", "--cell", "transformer"])
        assertBadInput(r, mentions: ["--cell"], "gradcheck --cell transformer")
    }

    func testSampleWithZeroTemperature() throws {
        // Option validation comes before the checkpoint is read, so none is needed here.
        let r = try Tool.rnntrain(["sample", "--checkpoint", dir.path, "--temperature", "0"])
        assertBadInput(r, mentions: ["--temperature"], "sample --temperature 0")
    }

    /// Eval takes no train.* settings, so a "text too short" line must not tell the user to change
    /// them, nor claim a length the command does not need. A 5-character text evaluates fine
    /// (4 predictions), so a 1-character one is too short because it has nothing to predict.
    func testEvalOnTooShortTextGivesAnActionableLine() throws {
        let checkpoint = try trainedCheckpoint()
        let five = try write("the c", to: dir.appendingPathComponent("five.txt"))
        let ok = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", five.path])
        XCTAssertEqual(ok.status, 0, "a 5-character text shorter than τ + 1 = 9 should evaluate: \(ok.stderr)")

        let one = try write("t", to: dir.appendingPathComponent("one.txt"))
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", one.path])
        assertBadInput(r, mentions: [one.path], "eval on 1 character")
        let message = lines(r.stderr).first ?? ""
        XCTAssertFalse(message.contains("train."), "eval has no train.* options to lower: \(message)")
        XCTAssertFalse(message.contains("= 9"), "claims τ + 1 = 9 tokens are needed, yet 5 evaluate fine: \(message)")
    }

    /// Fill-in-the-middle validation reads whole windows of τ tokens. A validation part of 10
    /// characters with τ = 8 holds one such window, yet (as of this writing) the run trains,
    /// writes a checkpoint, and only then dies at its first evaluation, leaving a half-written
    /// run directory. Either outcome is fine: refuse up front (exit 2, one line, nothing
    /// written) or train without validation (exit 0).
    func testShortFillInTheMiddleValidationIsHandledBeforeTraining() throws {
        // 100 ASCII characters whose every character occurs in the first 90, so the held-out
        // last 10 % is exactly 10 tokens: at least τ = 8, fewer than two windows.
        let content = String(String(repeating: "the lamp hums.\n", count: 7).prefix(100))
        XCTAssertEqual(content.utf8.count, 100)
        XCTAssertTrue(Set(content.suffix(10)).isSubset(of: Set(content.prefix(90))))
        let hundred = try write(content, to: dir.appendingPathComponent("hundred.txt"))
        let config = yaml([
            ("model", [("cell", "lstm"), ("layers", "1"), ("hidden", "8"), ("embedding", "6"), ("bidirectional", "true")]),
            ("data", [("path", "\"\(hundred.path)\""), ("val_fraction", "0.1"), ("mode", "windows"),
                      ("task", "fill-in-the-middle")]),
            ("train", [("global_batch", "4"), ("seq_len", "8"), ("steps", "4")]),
            ("checkpoint", [("every", "1")]),
            ("log", [("every", "1"), ("eval_every", "2")]),
        ])
        let r = try train(config, in: dir, runDir: runDir)
        if r.status == 0 { return }
        assertBadInput(r, mentions: [], "fill-in-the-middle with a 10-character validation part")
        assertNothingWritten(runDir, "fill-in-the-middle with a 10-character validation part")
    }

    // MARK: The right reason (issue 11, failure 12)

    func testEvalDataThatIsADirectory() throws {
        let checkpoint = try trainedCheckpoint()
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", dir.path])
        assertBadInput(r, mentions: [dir.path, "is a directory"], "eval --data DIR")
        XCTAssertFalse(r.stderr.contains("no such file"), "a directory that exists called missing: \(r.stderr)")
    }

    /// A FIFO with no writer would block a plain open forever, and a zero device never ends; both
    /// are refused at once for what they are, as data.path and as eval's --data.
    func testDataThatIsAFIFOOrADevice() throws {
        let fifo = dir.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let checkpoint = try trainedCheckpoint()
        let zero = try DeviceNode.make(DeviceNode.zero, named: "zero", in: dir)
        for (path, kind) in [(fifo.path, "a FIFO"), (zero.path, "a character device")] {
            let config = try write(tinyConfig(data: URL(fileURLWithPath: path)), to: dir.appendingPathComponent("special.yaml"))
            for arguments in [["train", "--config", config.path, "--run-dir", runDir.path],
                              ["eval", "--checkpoint", checkpoint.path, "--data", path]] {
                let (r, seconds) = try Tool.rnntrain(arguments, deadline: 60)
                assertBadInput(r, mentions: ["\(path): not a regular file (\(kind))"], "\(arguments[0]) of \(path)")
                XCTAssertFalse(r.stderr.contains("permission"), "blames permissions: \(r.stderr)")
                XCTAssertLessThan(seconds, 30, "\(arguments[0]) of \(path) took \(seconds) s")
            }
            assertNothingWritten(runDir, "data.path \(path)")
        }
    }

    // MARK: Negative numbers (issue 11, failure 12)

    /// Each value reaches the option, whose own range refuses it (ArgumentParser would take
    /// "-1" for an option name and say "Missing value").
    func testNegativeNumbersAreRefusedWithTheOptionsRange() throws {
        let cases: [([String], String)] = [
            (["sample", "--checkpoint", dir.path, "--temperature", "-1"], "--temperature must be > 0, got -1"),
            (["sample", "--checkpoint", dir.path, "--temperature", "-0.5"], "--temperature must be > 0, got -0.5"),
            (["sample", "--checkpoint", dir.path, "--top-k", "-3"], "--top-k must be ≥ 0, got -3"),
            (["sample", "--checkpoint", dir.path, "--length", "-5"], "--length must be ≥ 0, got -5"),
            (["sample", "--checkpoint", dir.path, "--seed", "-1"], "must be an integer in 0...18446744073709551615"),
            (["diff", dir.path, dir.path, "--tolerance", "-1"], "--tolerance must be ≥ 0, got -1"),
            (["gradcheck", "--layers", "-2"], "--layers must be ≥ 1, got -2"),
            (["gemm-bench", "--repetitions", "-1"], "--repetitions must be ≥ 1, got -1"),
            (["bench", "--config", dir.path, "--steps", "-4"], "--steps must be ≥ 1, got -4"),
        ]
        for (arguments, message) in cases {
            let r = try Tool.rnntrain(arguments)
            assertBadInput(r, mentions: [message], arguments.joined(separator: " "))
            XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
        }
    }

    /// `--set key=-1` reaches the config, whose range for that key answers.
    func testNegativeConfigValuesGiveTheConfigsRange() throws {
        for (setting, mentions) in [("train.steps=-1", ["train.steps", "-1"]), ("optimizer.lr=-1", ["optimizer.lr", "> 0", "-1"]),
                                    ("train.seed=-1", ["train.seed", "non-negative", "-1"]),
                                    ("model.dropout=-0.5", ["model.dropout", "[0, 1)", "-0.5"]),
                                    // A value that starts with a dash is --set's value, not an option.
                                    ("-1", ["--set -1", "section.key=value"])] {
            try assertTrainRefused(tinyConfig(data: text), extra: ["--set", setting], mentions: mentions, "--set \(setting)")
        }
    }

    // MARK: Help

    func testHelpOfEveryCommandExitsZero() throws {
        let expected = ["train": "--config", "eval": "--checkpoint", "sample": "--temperature",
                        "inspect": "USAGE", "gradcheck": "--cell"]
        for (command, option) in expected {
            let r = try Tool.rnntrain([command, "--help"])
            XCTAssertEqual(r.status, 0, "\(command) --help: \(r.stderr)")
            XCTAssertTrue(r.stdout.contains(option), "\(command) --help does not mention \(option):\n\(r.stdout)")
            XCTAssertEqual(r.stderr, "", "\(command) --help wrote to stderr")
        }
    }
}
