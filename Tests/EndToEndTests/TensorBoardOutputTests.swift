import Foundation
import Glibc
import TestSupport
import XCTest

/// `log.tensorboard` going wrong as a user meets it: a directory that cannot be made is bad
/// input (one line, status 2, nothing written into the run directory); a disk that fills during training loses event
/// records but no training, and the run says so and ends with status 2, never 0.
final class TensorBoardOutputTests: XCTestCase {
    private var dir: URL!
    private var text: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 1500), to: dir.appendingPathComponent("text.txt"))
    }

    func testADirectoryThatIsAFileIsBadInput() throws {
        let blocker = try write("not a directory", to: dir.appendingPathComponent("tb-file"))
        let run = dir.appendingPathComponent("run")
        let r = try train(tinyConfig(data: text, extra: ["log": [("tensorboard", "\"\(blocker.path)\"")]]), in: dir, runDir: run)
        assertBadInput(r, mentions: ["log.tensorboard: \(blocker.path): \(String(cString: strerror(ENOTDIR)))"],
                       "log.tensorboard names a regular file")
        assertNothingWritten(run, "log.tensorboard names a regular file")
    }

    /// About 8 kB free for the event file: its first records fit, 300 do not. Training reaches
    /// its last step and checkpoint, metrics.jsonl (elsewhere) has every record, the failure is
    /// said once when it happens and again, as the reason for status 2, at the end.
    func testAFullDiskLosesEventRecordsButNoTrainingAndEndsWithStatus2() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill(leavingKilobytes: 8)
        let tb = fs.url.appendingPathComponent("tb")
        let run = dir.appendingPathComponent("run")
        let config = tinyConfig(data: text, extra: ["train": [("steps", "300")], "checkpoint": [("every", "0")],
                                                    "log": [("eval_every", "0"), ("tensorboard", "\"\(tb.path)\"")]])
        let r = try train(config, in: dir, runDir: run)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(checkpointNames(run), ["step-00000300"])
        let records = lines(String(decoding: try Data(contentsOf: run.appendingPathComponent("metrics.jsonl")), as: UTF8.self))
        XCTAssertEqual(records.count, 300)
        let errors = lines(r.stderr)
        XCTAssertEqual(errors.count, 2, r.stderr)
        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: tb.path).first)
        let reason = "\(tb.path)/\(file): \(String(cString: strerror(ENOSPC))); the event file ends before step "
        XCTAssertTrue(errors.first?.hasPrefix("rnntrain: \(reason)") == true, r.stderr)
        XCTAssertTrue(errors.first?.hasSuffix("; training goes on, metrics.jsonl keeps the log") == true, r.stderr)
        XCTAssertTrue(errors.last?.hasPrefix("rnntrain: \(reason)") == true, r.stderr)
        XCTAssertTrue(errors.last?.hasSuffix(": training finished at step 300 and wrote its checkpoint, but TensorBoard's event file lost records (metrics.jsonl has every logged step)") == true, r.stderr)
    }
}
