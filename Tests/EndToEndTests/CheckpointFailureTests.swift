import Foundation
import XCTest

/// A checkpoint write that fails (here: no space left on a 1 MB tmpfs) leaves the previous
/// checkpoint valid and no half-written directory, reports one line, and then stops the job or
/// lets it continue, as checkpoint.on_error says, except for the last checkpoint, which must be
/// written or the run fails.
final class CheckpointFailureTests: MultiRankTestCase {
    private var mounted: URL?

    override func tearDown() {
        if let mounted { _ = try? Tool.run(URL(fileURLWithPath: "/bin/umount"), [mounted.path]) }
        super.tearDown()
    }

    /// A run directory on a fresh 1 MB tmpfs: room for one checkpoint of the model below, not two.
    private func smallDisk() throws -> URL {
        let dir = scratch.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let r = try Tool.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.path])
        guard r.status == 0 else { throw XCTSkip("this machine refuses to mount a tmpfs: \(r.stderr)") }
        mounted = dir
        return dir.appendingPathComponent("run")
    }

    /// hidden 64: about 55 000 parameters, a checkpoint of about 650 KB with Adam's moments.
    private func config() throws -> URL {
        try writeConfig(extra: ["model": ["hidden: 64"], "train": ["steps: 9"], "checkpoint": ["every: 3", "keep: 1"],
                                "log": ["every: 3", "eval_every: 0"]])
    }

    private func assertFirstCheckpointIntact(_ runDir: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent("checkpoints").path)
        XCTAssertEqual(names, ["step-00000003"], "only the first checkpoint, no temporary directory", file: file, line: line)
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(runDir, step: 3).path]).status, 0, file: file, line: line)
    }

    func testAFullDiskStopsTheJobAndKeepsThePreviousCheckpoint() throws {
        let run = try smallDisk()
        let r = try runTool(ranks: 0, ["train", "--config", try config().path, "--run-dir", run.path])
        XCTAssertEqual(r.status, 2, r.output)
        let errors = r.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(errors.count, 1, "one line:\n\(r.stderr)")
        XCTAssertTrue(errors.first?.contains("No space left on device") ?? false, r.stderr)
        // The line names the checkpoint the write was for, not the temporary directory it removed.
        XCTAssertTrue(errors.first?.contains(run.appendingPathComponent("checkpoints/step-00000006/").path) ?? false, r.stderr)
        XCTAssertFalse(r.stderr.contains(".tmp-"), r.stderr)
        try assertFirstCheckpointIntact(run)
    }

    /// The last checkpoint holds work no later one saves: with `continue` too, its failure ends
    /// the run with status 2 and the reason, and counts the earlier failures.
    func testOnErrorContinueStillFailsWhenTheLastCheckpointCannotBeWritten() throws {
        let run = try smallDisk()
        let r = try runTool(ranks: 0, ["train", "--config", try config().path, "--run-dir", run.path,
                                       "--set", "checkpoint.on_error=continue"])
        XCTAssertEqual(r.status, 2, r.output)
        let errors = r.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(errors.count, 2, "step 6's failure, then the last one's:\n\(r.stderr)")
        XCTAssertTrue(errors.first?.contains("checkpoint not written") ?? false, r.stderr)
        let last = errors.last ?? ""
        for fragment in ["the last checkpoint (step 9) was not written", "No space left on device",
                         "the newest on disk is \(checkpoint(run, step: 3).path)", "1 earlier checkpoint failed too"] {
            XCTAssertTrue(last.contains(fragment), "lacks \(fragment): \(last)")
        }
        XCTAssertTrue(r.stdout.contains("step 9/9"), "training reached the end:\n\(r.stdout.suffix(500))")
        try assertFirstCheckpointIntact(run)
    }

    /// A middle checkpoint that cannot be written (a regular file sits where step 6's directory
    /// must go: the rename fails) is counted; the run goes on, writes the last one and exits 0,
    /// with the count in its last line and in every metrics record from then on.
    func testOnErrorContinueCountsFailedCheckpointsInTheLastLineAndTheMetrics() throws {
        let run = scratch.appendingPathComponent("run")
        let blocker = run.appendingPathComponent("checkpoints/step-00000006")
        try FileManager.default.createDirectory(at: blocker.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data([1]).write(to: blocker)
        let r = try runTool(ranks: 0, ["train", "--config", try config().path, "--run-dir", run.path,
                                       "--set", "checkpoint.on_error=continue"])
        XCTAssertEqual(r.status, 0, r.output)
        let failures = r.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(failures.count, 1, r.stderr)
        XCTAssertTrue(failures.first.map { $0.contains("checkpoint not written") && $0.contains("Not a directory") } ?? false, r.stderr)
        XCTAssertEqual(lines(r.stdout).last, "finished at step 9, final checkpoint written; 1 checkpoint failed to write (checkpoint.on_error: continue)")
        XCTAssertEqual(checkpoints(run).map(\.lastPathComponent), ["step-00000006", "step-00000009"], "keep 1: the last and the blocker")
        XCTAssertEqual(try Data(contentsOf: blocker), Data([1]), "the blocking file is left as it was")
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(run, step: 9).path]).status, 0)
        let records = lines(try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)).compactMap(jsonObject)
        XCTAssertEqual(records.compactMap { number($0["step"]) }, [3, 6, 9])
        // Step 6's record is written before its checkpoint fails: the count shows from step 9 on.
        XCTAssertEqual(records.compactMap { number($0["checkpoints_failed"]) }, [0, 0, 1])
    }

    /// Without failures the last line says so, so a reader never has to guess.
    func testOnErrorContinueWithoutFailuresSaysNoneFailed() throws {
        let run = scratch.appendingPathComponent("run")
        let r = try runTool(ranks: 0, ["train", "--config", try config().path, "--run-dir", run.path,
                                       "--set", "checkpoint.on_error=continue"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(lines(r.stdout).last, "finished at step 9, final checkpoint written; no checkpoint failed to write")
    }

    /// A stop signal's checkpoint is a last one too: when it cannot be written the run exits 2
    /// with the reason, not 143, which would promise that --resume auto continues from it. The
    /// tmpfs is filled first (600 KB of 1 MB) so that the first checkpoint does not fit.
    func testAStopSignalWhoseCheckpointCannotBeWrittenExitsTwoNot143() throws {
        let run = try smallDisk()
        try Data(count: 600_000).write(to: run.deletingLastPathComponent().appendingPathComponent("filler"))
        let config = try writeConfig(extra: ["model": ["hidden: 64"], "train": ["steps: 1000000"], "checkpoint": ["every: 0"],
                                             "log": ["every: 100000", "eval_every: 0"]])
        let job = try startTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path,
                                           "--set", "checkpoint.on_error=continue"])
        // config.yaml is written last before training (stdout, a file here, is not flushed yet).
        let saved = run.appendingPathComponent("config.yaml")
        XCTAssertTrue(job.wait(until: { FileManager.default.fileExists(atPath: saved.path) }, timeout: 30),
                      "training never started:\n\(job.output)")
        kill(job.pid, SIGTERM)
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 2, r.output)
        let errors = r.stderr.components(separatedBy: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(errors.count, 1, r.stderr)
        let line = errors.first ?? ""
        XCTAssertTrue(line.contains("the last checkpoint (step ") && line.contains("No space left on device")
                      && line.contains("no checkpoint is on disk"), line)
        XCTAssertFalse(r.stdout.contains("stopped at step"), "claims a checkpointed stop:\n\(r.stdout)")
        XCTAssertEqual(checkpoints(run), [])
    }

    func testUnderMPITheWholeJobStops() throws {
        let run = try smallDisk()
        let r = try runTool(ranks: 2, ["train", "--config", try config().path, "--run-dir", run.path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertEqual(r.stderr.components(separatedBy: "\n").filter { $0.contains("No space left on device") }.count, 1,
                       "rank 0's message, once:\n\(r.stderr)")
        try assertFirstCheckpointIntact(run)
    }
}
