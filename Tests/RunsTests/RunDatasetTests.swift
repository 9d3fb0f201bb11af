@testable import Config
import ErrorAssertions
import Files
import Foundation
import Glibc
import PreparedData
@testable import Runs
@testable import Training
import XCTest

/// `RunDataset`: the record that decides whether a run's prepared text is reused, and `ensure`
/// reusing, replacing and refusing.
final class RunDatasetTests: XCTestCase {
    private var dir: URL!
    private var data = DataConfig()

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-rundata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let text = dir.appendingPathComponent("text.txt")
        try Data(String(repeating: "to be or not to be\n", count: 40).utf8).write(to: text)
        data.path = text.path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    private var record: String { String(decoding: RunDataset.record(data) ?? [], as: UTF8.self) }

    /// The record is the same while nothing changes, and differs for every key that decides the
    /// tokens and for every change of a text file's identity, contents or not.
    func testTheRecordChangesWithEveryKeyAndEveryRewriteOfTheText() throws {
        let first = record
        XCTAssertEqual(record, first)
        var info = stat()
        XCTAssertEqual(stat(data.path, &info), 0)
        XCTAssertTrue(first.contains("\"size\": 760"), first)
        XCTAssertTrue(first.contains("\"inode\": \(info.st_ino)"), first)
        XCTAssertTrue(first.contains("\"mtime_ns\": \(Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec))"), first)
        let changes: [(String, (inout DataConfig) -> Void)] = [
            ("val_fraction", { $0.valFraction = 0.2 }), ("tokenizer", { $0.tokenizer = .word }),
            ("min_count", { $0.minCount = 2 }), ("task", { $0.task = .fillInTheMiddle }),
            ("val_path", { $0.valPath = $0.path }),
        ]
        for (key, change) in changes {
            let saved = data
            change(&data)
            XCTAssertNotEqual(record, first, key)
            data = saved
        }
        // The same bytes with a new modification time, then in a new file (a new inode).
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 5), timespec(tv_sec: 1_000_000, tv_nsec: 5)]
        XCTAssertEqual(utimensat(AT_FDCWD, data.path, &times, 0), 0)
        let touched = record
        XCTAssertNotEqual(touched, first, "a new modification time")
        try Data(contentsOf: URL(fileURLWithPath: data.path)).write(to: URL(fileURLWithPath: data.path), options: .atomic)
        XCTAssertEqual(utimensat(AT_FDCWD, data.path, &times, 0), 0)
        XCTAssertNotEqual(record, touched, "the same bytes and time in another file")
        data.path = dir.appendingPathComponent("missing.txt").path
        XCTAssertNil(RunDataset.record(data), "a text that cannot be examined has no record: preparing it says why")
    }

    /// `ensure` prepares once, reuses while the record holds, prepares again into the same place
    /// when it does not, and refuses what it did not make.
    func testEnsureReusesReplacesAndRefuses() throws {
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: false)
        guard case .prepared(let summary, replaced: false) = try RunDataset.ensure(data: data, runDirectory: run) else {
            return XCTFail("the first start prepares")
        }
        XCTAssertEqual(summary.trainTokens + summary.validationTokens, 760)
        guard case .reused = try RunDataset.ensure(data: data, runDirectory: run) else { return XCTFail("an unchanged text is reused") }
        data.valFraction = 0.2
        let outcome = try RunDataset.ensure(data: data, runDirectory: run)
        guard case .prepared(_, replaced: true) = outcome else { return XCTFail("a changed key prepares again") }
        XCTAssertTrue(FileIO.isDirectory(run.appendingPathComponent(".data-next")), "the old dataset waits for the start-up")
        try RunDataset.undo(outcome, runDirectory: run)
        data.valFraction = 0.1
        guard case .reused = try RunDataset.ensure(data: data, runDirectory: run) else { return XCTFail("undo restores the old dataset") }
        XCTAssertEqual(try FileIO.names(in: run).sorted(), ["data"])

        // A dataset to be replaced that holds a link is refused, the link left as it was.
        let link = run.appendingPathComponent("data/elsewhere")
        XCTAssertEqual(symlink(dir.appendingPathComponent("text.txt").path, link.path), 0)
        data.valFraction = 0.3
        assertUserError(try RunDataset.ensure(data: data, runDirectory: run), mentions: [link.path, "symbolic link"])
        XCTAssertNotNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link.path))
        XCTAssertEqual(try FileIO.names(in: run).sorted(), ["data"])

        let stranger = dir.appendingPathComponent("stranger")
        try FileManager.default.createDirectory(at: stranger.appendingPathComponent("data"), withIntermediateDirectories: true)
        assertUserError(try RunDataset.ensure(data: data, runDirectory: stranger), mentions: ["stranger/data", "no source.json"])
        XCTAssertEqual(try FileIO.names(in: stranger.appendingPathComponent("data")), [], "a directory not ours is left alone")
    }
}
