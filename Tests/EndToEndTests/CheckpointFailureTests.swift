import Foundation
import XCTest

/// A checkpoint write that fails (here: no space left on a 1 MB tmpfs) leaves the previous
/// checkpoint valid and no half-written directory, reports one line, and then stops the job or
/// lets it continue, as checkpoint.on_error says.
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
        try assertFirstCheckpointIntact(run)
    }

    func testOnErrorContinueTrainsOn() throws {
        let run = try smallDisk()
        let r = try runTool(ranks: 0, ["train", "--config", try config().path, "--run-dir", run.path,
                                       "--set", "checkpoint.on_error=continue"])
        XCTAssertEqual(r.status, 0, r.output)
        let failures = r.stderr.components(separatedBy: "\n").filter { $0.contains("checkpoint not written") }
        XCTAssertEqual(failures.count, 2, "steps 6 and 9 could not be written:\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("step 9/9"), "training reached the end:\n\(r.stdout.suffix(500))")
        try assertFirstCheckpointIntact(run)
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
