import Foundation
import XCTest

/// `train.early_stop` and `checkpoint.best`: the run stops after the patience's validations
/// without a lower loss, `checkpoints/best` links the checkpoint of the lowest one (never pruned),
/// and that checkpoint holds the weights a plain run to that step ends with.
final class EarlyStoppingTests: XCTestCase {
    private var dir: URL!
    private var text: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 2000), to: dir.appendingPathComponent("text.txt"))
    }

    /// A learning rate high enough that the tiny model overfits 1,800 characters within 200
    /// steps: validation loss turns up, which early stopping must notice.
    private func config(steps: Int = 200, train: [(String, String)] = [], checkpoint: [(String, String)] = []) -> String {
        tinyConfig(data: text, extra: ["train": [("steps", "\(steps)")] + train,
                                       "optimizer": [("lr", "0.05")],
                                       "checkpoint": [("every", "0"), ("keep", "1")] + checkpoint,
                                       "log": [("every", "2"), ("eval_every", "2")]])
    }

    /// (step, val_loss, best_val_loss) of every validated metrics line.
    private func validations(_ run: URL) throws -> [(step: Int, loss: Double, best: Double?)] {
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return lines(metrics).compactMap(jsonObject).compactMap { object in
            guard let step = number(object["step"]), let loss = number(object["val_loss"]) else { return nil }
            return (Int(step), loss, number(object["best_val_loss"]))
        }
    }

    private func bestTarget(_ run: URL) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: run.appendingPathComponent("checkpoints/best").path)
    }

    func testEarlyStopEndsAfterThePatienceAndLinksTheLowestValidationLoss() throws {
        let run = dir.appendingPathComponent("run")
        let r = try train(config(train: [("early_stop", "3")]), in: dir, runDir: run)
        XCTAssertEqual(r.status, 0, r.stderr)
        let seen = try validations(run)
        // The metrics' own losses decide: the first lowest, then exactly 3 validations after it.
        let lowest = try XCTUnwrap(seen.indices.min { seen[$0].loss < seen[$1].loss })
        XCTAssertEqual(seen.count, lowest + 4, "stopped \(seen.count - lowest - 1) validations after the best: \(seen)")
        let bestStep = seen[lowest].step, lastStep = try XCTUnwrap(seen.last).step
        XCTAssertLessThan(lastStep, 200, "the run did not stop early")
        XCTAssertTrue(r.stdout.contains("early stop at step \(lastStep)"), r.stdout)
        XCTAssertEqual(seen.last?.best, seen[lowest].loss, "best_val_loss in the metrics")
        XCTAssertEqual(try bestTarget(run), "step-\(String(format: "%08d", bestStep))")
        // keep 1: the last checkpoint, and the best one spared by pruning.
        XCTAssertEqual(checkpointNames(run), ["step-\(String(format: "%08d", bestStep))", "step-\(String(format: "%08d", lastStep))"])

        // The best checkpoint holds what a plain run to its step ends with, bit for bit.
        let plain = dir.appendingPathComponent("plain")
        let p = try train(config(steps: bestStep), in: dir, runDir: plain, name: "plain.yaml")
        XCTAssertEqual(p.status, 0, p.stderr)
        let step = "checkpoints/step-\(String(format: "%08d", bestStep))/model.safetensors"
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("checkpoints/best/model.safetensors")),
                       try Data(contentsOf: plain.appendingPathComponent(step)))

        // `eval` takes the link by name.
        let e = try Tool.rnntrain(["eval", "--checkpoint", run.appendingPathComponent("checkpoints/best").path, "--data", text.path])
        XCTAssertEqual(e.status, 0, e.stderr)
    }

    func testAStoppedRunResumesOnlyWithAGreaterPatience() throws {
        let run = dir.appendingPathComponent("run")
        XCTAssertEqual(try train(config(train: [("early_stop", "2")]), in: dir, runDir: run).status, 0)
        let stoppedAt = try XCTUnwrap(try validations(run).last).step
        let again = try train(config(train: [("early_stop", "2")]), in: dir, runDir: run, extra: ["--resume", "auto"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("nothing to do: the run stopped early at step \(stoppedAt)"), again.stdout)
        XCTAssertEqual(checkpointNames(run).last, "step-\(String(format: "%08d", stoppedAt))", "the refused resume trained")

        let longer = try train(config(train: [("early_stop", "3")]), in: dir, runDir: run, extra: ["--resume", "auto"])
        XCTAssertEqual(longer.status, 0, longer.stderr)
        let seen = try validations(run)
        XCTAssertGreaterThan(try XCTUnwrap(seen.last).step, stoppedAt, "a greater patience did not train on")
        // The count of validations since the best was carried over the resume: 3 in all after the lowest.
        let lowest = try XCTUnwrap(seen.indices.min { seen[$0].loss < seen[$1].loss })
        XCTAssertLessThan(try XCTUnwrap(seen.last).step, 200, "the longer run did not stop early")
        XCTAssertEqual(seen.count, lowest + 4, "\(seen)")
    }

    func testBestWithoutEarlyStopTrainsToTheEnd() throws {
        let run = dir.appendingPathComponent("run")
        let r = try train(config(steps: 40, checkpoint: [("best", "true")]), in: dir, runDir: run)
        XCTAssertEqual(r.status, 0, r.stderr)
        let seen = try validations(run)
        XCTAssertEqual(seen.last?.step, 40)
        let lowest = try XCTUnwrap(seen.min { $0.loss < $1.loss })
        XCTAssertEqual(try bestTarget(run), "step-\(String(format: "%08d", lowest.step))")
    }

    func testSomethingElseAtTheBestLinkIsRefusedBeforeTraining() throws {
        for (label, make) in [("a directory", { (url: URL) in try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false) }),
                              ("a FIFO", { (url: URL) in XCTAssertEqual(mkfifo(url.path, 0o600), 0) })] {
            let run = dir.appendingPathComponent("run-\(label.split(separator: " ").last!)")
            let best = run.appendingPathComponent("checkpoints/best")
            try FileManager.default.createDirectory(at: best.deletingLastPathComponent(), withIntermediateDirectories: true)
            try make(best)
            let r = try train(config(train: [("early_stop", "3")]), in: dir, runDir: run)
            assertBadInput(r, mentions: [best.path, label, "remove it"], label)
            XCTAssertEqual(checkpointNames(run), [], label)
        }
    }

    func testEarlyStopNeedsValidations() throws {
        let run = dir.appendingPathComponent("run")
        let r = try train(config(train: [("early_stop", "3")]), in: dir, runDir: run, extra: ["--set", "log.eval_every=0"])
        assertBadInput(r, mentions: ["train.early_stop", "log.eval_every is 0"], "early stop without validations")
        assertNothingWritten(run, "early stop without validations")
    }
}
