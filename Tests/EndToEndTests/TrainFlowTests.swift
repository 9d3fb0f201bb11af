import Foundation
import XCTest

/// A tiny stream-mode LSTM trained, checkpointed, refused, resumed, and compared with a straight run.
final class TrainFlowTests: XCTestCase {
    private var dir: URL!
    private var text: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 2000), to: dir.appendingPathComponent("text.txt"))
    }

    /// Dropout 0.2 so that resuming must also reproduce the dropout masks.
    private func config(steps: Int = 6, keep: Int = 3) -> String {
        tinyConfig(data: text, extra: ["model": [("dropout", "0.2")],
                                       "train": [("steps", "\(steps)")],
                                       "checkpoint": [("every", "3"), ("keep", "\(keep)")]])
    }

    private func sha256sumCheck(_ checkpoint: URL) throws -> Tool.Result {
        try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: checkpoint)
    }

    func testRunDirectoryLayout() throws {
        let run = dir.appendingPathComponent("run")
        let r = try train(config(), in: dir, runDir: run)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(r.stderr), [], "a clean run wrote to stderr:\n\(r.stderr)")

        // config.yaml: the resolved config, readable as two-level YAML, with what we set.
        let saved = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        let values = try XCTUnwrap(readTwoLevelYAML(saved))
        XCTAssertEqual(values["model.hidden"], "12")
        XCTAssertEqual(values["model.embedding"], "8")
        XCTAssertEqual(values["train.seq_len"], "8")
        XCTAssertEqual(values["train.global_batch"], "4")
        XCTAssertEqual(values["data.path"].map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }, text.path)

        // metrics.jsonl: one JSON object per line (log.every 1 → one per step), val_loss on steps 3 and 6.
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let records = lines(metrics)
        XCTAssertEqual(records.count, 6, metrics)
        var previousTokens = 0.0
        for (i, line) in records.enumerated() {
            guard let object = jsonObject(line) else {
                XCTFail("not a JSON object: \(line)")
                continue
            }
            for key in ["step", "tokens", "loss", "grad_norm", "clipped", "lr", "tokens_per_s", "elapsed_s"] {
                XCTAssertNotNil(object[key], "line \(i + 1) lacks \(key): \(line)")
            }
            XCTAssertEqual(number(object["step"]), Double(i + 1), line)
            // B · τ = 4 · 8 tokens per step.
            let tokens = try XCTUnwrap(number(object["tokens"]))
            XCTAssertEqual(tokens - previousTokens, 32, line)
            previousTokens = tokens
            let loss = try XCTUnwrap(number(object["loss"]))
            XCTAssertTrue(loss.isFinite && loss > 0, line)
            XCTAssertEqual(try XCTUnwrap(number(object["lr"])), 0.01, accuracy: 1e-12, line)
            let evaluated = (i + 1) % 3 == 0
            XCTAssertEqual(object["val_loss"] != nil, evaluated, "val_loss on step \(i + 1): \(line)")
            if let v = number(object["val_loss"]) { XCTAssertTrue(v.isFinite && v > 0, line) }
        }

        // Two checkpoints, each complete and verifiable by sha256sum itself.
        XCTAssertEqual(checkpointNames(run), ["step-00000003", "step-00000006"])
        for name in ["step-00000003", "step-00000006"] {
            let checkpoint = run.appendingPathComponent("checkpoints/\(name)")
            let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).sorted()
            XCTAssertEqual(files, ["SHA256SUMS", "config.yaml", "model.safetensors", "state.safetensors"], name)
            let check = try sha256sumCheck(checkpoint)
            XCTAssertEqual(check.status, 0, "\(name): sha256sum -c failed:\n\(check.stdout)\(check.stderr)")
            for file in ["config.yaml", "model.safetensors", "state.safetensors"] {
                XCTAssertTrue(check.stdout.contains("\(file): OK"), "\(name): \(file) not verified:\n\(check.stdout)")
            }
        }

        // The check can fail: a damaged copy does not verify.
        let damaged = dir.appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: run.appendingPathComponent("checkpoints/step-00000006"), to: damaged)
        try write("model:\n  hidden: 13\n", to: damaged.appendingPathComponent("config.yaml"))
        XCTAssertNotEqual(try sha256sumCheck(damaged).status, 0)
    }

    func testKeepOneLeavesOnlyTheNewest() throws {
        let run = dir.appendingPathComponent("run")
        let r = try train(config(keep: 1), in: dir, runDir: run)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(checkpointNames(run), ["step-00000006"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)
        XCTAssertEqual(leftovers, ["step-00000006"], "temporary directories left behind")
    }

    func testResumeIsExact() throws {
        let run = dir.appendingPathComponent("run")
        let first = try train(config(steps: 6), in: dir, runDir: run)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(checkpointNames(run), ["step-00000003", "step-00000006"])

        // Training into the same run directory without --resume is refused and changes nothing.
        let metricsURL = run.appendingPathComponent("metrics.jsonl")
        let configURL = run.appendingPathComponent("config.yaml")
        let metricsBefore = try Data(contentsOf: metricsURL), configBefore = try Data(contentsOf: configURL)
        let again = try train(config(steps: 8), in: dir, runDir: run)
        assertBadInput(again, mentions: [run.path], "training into a used run directory")
        XCTAssertEqual(checkpointNames(run), ["step-00000003", "step-00000006"])
        XCTAssertEqual(try Data(contentsOf: metricsURL), metricsBefore, "metrics.jsonl changed")
        XCTAssertEqual(try Data(contentsOf: configURL), configBefore, "config.yaml changed")

        // --resume auto continues from step 6 to 8 and says where it started.
        let resumed = try train(config(steps: 8), in: dir, runDir: run, extra: ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("step-00000006"), "does not name the checkpoint it resumed from:\n\(resumed.stdout)")
        XCTAssertEqual(checkpointNames(run), ["step-00000003", "step-00000006", "step-00000008"])
        let steps = lines(try String(contentsOf: metricsURL, encoding: .utf8)).compactMap { jsonObject($0).flatMap { number($0["step"]) } }
        XCTAssertEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], "the resumed run did not continue at step 7")

        // A straight 8-step run elsewhere ends with the same bytes.
        let straight = dir.appendingPathComponent("straight")
        let s = try train(config(steps: 8), in: dir, runDir: straight, name: "straight.yaml")
        XCTAssertEqual(s.status, 0, s.stderr)
        let a = try Data(contentsOf: run.appendingPathComponent("checkpoints/step-00000008/model.safetensors"))
        let b = try Data(contentsOf: straight.appendingPathComponent("checkpoints/step-00000008/model.safetensors"))
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a == b, "resumed and straight 8-step weights differ")

        // And the weights did move between steps 6 and 8, so the comparison means something.
        let six = try Data(contentsOf: run.appendingPathComponent("checkpoints/step-00000006/model.safetensors"))
        XCTAssertNotEqual(six, a, "steps 7 and 8 changed no weight")
    }

    /// The same exactness in windows mode, where the data order is a per-epoch shuffle.
    func testResumeIsExactInWindowsMode() throws {
        func windows(_ steps: Int) -> String {
            tinyConfig(data: text, extra: ["model": [("dropout", "0.2")], "data": [("mode", "windows")],
                                           "train": [("steps", "\(steps)")]])
        }
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try train(windows(3), in: dir, runDir: run).status, 0)
        let resumed = try train(windows(5), in: dir, runDir: run, extra: ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let straight = dir.appendingPathComponent("straight")
        XCTAssertEqual(try train(windows(5), in: dir, runDir: straight, name: "straight.yaml").status, 0)
        let a = try Data(contentsOf: run.appendingPathComponent("checkpoints/step-00000005/model.safetensors"))
        let b = try Data(contentsOf: straight.appendingPathComponent("checkpoints/step-00000005/model.safetensors"))
        XCTAssertTrue(a == b, "resumed and straight 5-step weights differ in windows mode")
    }

    /// The resolved config.yaml is itself a valid config for the tool.
    func testSavedConfigTrainsAgain() throws {
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try train(config(), in: dir, runDir: run).status, 0)
        let other = dir.appendingPathComponent("other")
        let r = try Tool.rnntrain(["train", "--config", run.appendingPathComponent("config.yaml").path,
                                   "--run-dir", other.path, "--set", "train.steps=1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(checkpointNames(other), ["step-00000001"])
    }
}
