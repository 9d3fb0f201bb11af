import Foundation
import Glibc
import TestSupport
import XCTest

/// Issue 11, failures 7, 10 and 12 as a user meets them: a run directory on a read-only or full
/// file system, metrics.jsonl filling the disk mid-training, a crash's partial metrics line,
/// and every command's output going to a full device. Each ends with one line that names the
/// file (or standard output) and the system's reason, and a status that is not 0.
final class FileSystemFaultTests: XCTestCase {
    private var dir: URL!
    private var text: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 1500), to: dir.appendingPathComponent("text.txt"))
    }

    private func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// A full device of the test's own (writes fail with ENOSPC), like /dev/full.
    private func fullDevice() throws -> String {
        try DeviceNode.make(DeviceNode.full, named: "full-\(UUID().uuidString)", in: dir).path
    }

    private func assertNoDump(_ r: Tool.Result, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.stderr.contains("Error Domain") || r.stderr.contains("UserInfo"),
                       "an NSError dump instead of a line:\n\(r.stderr)", file: file, line: line)
    }

    func testNewRunDirectoryOnAReadOnlyFileSystem() throws {
        let fs = try SmallFileSystem(self)
        try fs.remountReadOnly()
        let run = fs.url.appendingPathComponent("run")
        let r = try train(tinyConfig(data: text), in: dir, runDir: run)
        assertBadInput(r, mentions: ["\(run.path): \(reason(EROFS))"], "run directory on a read-only file system")
        assertNoDump(r)
    }

    func testRunDirectoryOnAFullDisk() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill()
        let run = fs.url.appendingPathComponent("run")
        let r = try train(tinyConfig(data: text), in: dir, runDir: run)
        // The run's lock is the first file written; the line names it.
        assertBadInput(r, mentions: ["\(run.path)/run.lock: \(reason(ENOSPC))"], "run directory on a full disk")
        assertNoDump(r)
    }

    /// About 48 kB free: the text prepared (data/, five small files), the config and a hundred or
    /// so metrics records fit, 2000 do not.
    func testMetricsAppendFillingTheDisk() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill(leavingKilobytes: 48)
        let run = fs.url.appendingPathComponent("run")
        let config = tinyConfig(data: text, extra: ["train": [("steps", "2000")], "checkpoint": [("every", "0")],
                                                    "log": [("every", "1"), ("eval_every", "0")]])
        let r = try train(config, in: dir, runDir: run)
        let metrics = run.appendingPathComponent("metrics.jsonl")
        assertBadInput(r, mentions: ["\(metrics.path): \(reason(ENOSPC))"], "metrics.jsonl on a full disk")
        assertNoDump(r)
        // What reached the disk is whole records and at most one cut one at the end.
        let rows = String(decoding: try Data(contentsOf: metrics), as: UTF8.self).split(separator: "\n")
        XCTAssertGreaterThan(rows.count, 10, "the disk filled before training got going")
        for row in rows.dropLast() { XCTAssertNotNil(jsonObject(String(row)), "not a JSON object: \(row)") }
    }

    /// A crash cut step 6's record mid-write, before step 6's checkpoint was written (a record
    /// is written before its step's checkpoint). The resumed run continues from step 3 and its
    /// first record starts a line of its own.
    func testResumeAfterACrashCutTheLastMetricsRecord() throws {
        let run = dir.appendingPathComponent("run")
        let config = tinyConfig(data: text, extra: ["log": [("eval_every", "0")]])
        XCTAssertEqual(try train(config, in: dir, runDir: run).status, 0)
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let whole = String(decoding: try Data(contentsOf: metrics), as: UTF8.self)
        let last = try XCTUnwrap(whole.dropLast().lastIndex(of: "\n"))
        let cut = String(whole[...last]) + String(whole[whole.index(after: last)...].prefix(30))
        try write(cut, to: metrics)
        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoints/step-00000006"))

        let r = try train(config, in: dir, runDir: run, extra: ["--resume", "auto"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = String(decoding: try Data(contentsOf: metrics), as: UTF8.self).split(separator: "\n").map(String.init)
        let steps = try rows.map { row in try XCTUnwrap(number(jsonObject(row)?["step"]), "not a whole record: \(row)") }
        XCTAssertEqual(steps, [1, 2, 3, 4, 5, 4, 5, 6], "records before the cut, then the resumed run's")
        XCTAssertTrue(r.stderr.contains("metrics.jsonl: cut a partial last record"), "no note of the cut: \(r.stderr)")
    }

    // MARK: Standard output on a full device

    private func trainedCheckpoint() throws -> URL {
        let run = dir.appendingPathComponent("trained")
        let r = try train(tinyConfig(data: text, extra: ["checkpoint": [("every", "0")]]), in: dir, runDir: run, name: "trained.yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        return run.appendingPathComponent("checkpoints/step-00000006")
    }

    func testEveryCommandsOutputToAFullDevice() throws {
        let checkpoint = try trainedCheckpoint().path
        let commands: [[String]] = [
            ["sample", "--checkpoint", checkpoint, "--length", "20"],
            ["eval", "--checkpoint", checkpoint, "--data", text.path],
            ["inspect", checkpoint],
            ["diff", checkpoint, checkpoint],
            ["options"],
        ]
        for arguments in commands {
            // The same command succeeds on a pipe: the failure below is the device's doing.
            XCTAssertEqual(try Tool.rnntrain(arguments).status, 0, arguments.joined(separator: " "))
            let (r, _) = try Tool.rnntrain(arguments, stdoutPath: try fullDevice(), deadline: 120)
            assertBadInput(r, mentions: ["standard output: \(reason(ENOSPC))"], "\(arguments[0]) > /dev/full")
        }
    }

    /// Training's own output to a full device: the work is not lost (training goes on, the final
    /// checkpoint and every metrics record are written), but the run still ends with status 2.
    func testTrainingToAFullDeviceFinishesItsWorkAndFails() throws {
        let config = dir.appendingPathComponent("full.yaml")
        try tinyConfig(data: text, extra: ["checkpoint": [("every", "0")], "log": [("every", "2"), ("eval_every", "0")]])
            .write(to: config, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("full-run")
        let (r, _) = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path], stdoutPath: try fullDevice(),
                                       deadline: 120)
        XCTAssertEqual(r.status, 2, r.stderr)
        let errors = lines(r.stderr)
        XCTAssertEqual(errors.count, 2, "the failure when it happens, and the end:\n\(r.stderr)")
        XCTAssertTrue(errors.first?.contains("standard output: \(reason(ENOSPC)); training goes on") ?? false, r.stderr)
        XCTAssertTrue(errors.last?.contains("training finished at step 6 and wrote its checkpoint") ?? false, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/step-00000006/model.safetensors").path))
        let records = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(records.count, 3, "steps 2, 4 and 6 logged")
    }

    func testHelpToAFullDevice() throws {
        for arguments in [["--help"], ["sample", "--help"]] {
            XCTAssertEqual(try Tool.rnntrain(arguments).status, 0, arguments.joined(separator: " "))
            let (r, _) = try Tool.rnntrain(arguments, stdoutPath: try fullDevice(), deadline: 60)
            assertBadInput(r, mentions: ["standard output: \(reason(ENOSPC))"], "\(arguments.joined(separator: " ")) > /dev/full")
        }
    }

    /// 10^8 tokens would take hours; the first failed write must end it.
    func testLongSampleStopsAtTheFirstFailedWrite() throws {
        let checkpoint = try trainedCheckpoint().path
        let (r, seconds) = try Tool.rnntrain(["sample", "--checkpoint", checkpoint, "--length", "100000000"],
                                             stdoutPath: try fullDevice(), deadline: 120)
        assertBadInput(r, mentions: ["standard output: \(reason(ENOSPC))"], "sample --length 100000000 > /dev/full")
        XCTAssertLessThan(seconds, 60, "sample went on after its output failed")
    }
}
