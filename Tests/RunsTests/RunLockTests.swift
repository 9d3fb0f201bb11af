import ErrorAssertions
import Foundation
import Glibc
@testable import Runs
import TestSupport
@testable import Training
import XCTest

/// run.lock: one holder at a time, the holder named to the one refused, a file without a live
/// holder no obstacle, and a withdrawn start-up leaving nothing behind.
final class RunLockTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try temporaryDirectory(self, "lock")
    }

    private func contents(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// flock conflicts between two opens even in one process, so a second lock here stands for a
    /// second run; releasing the first (deinit closes it) lets the next one in.
    func testSecondHolderIsRefusedNamingTheFirstUntilItIsReleased() throws {
        let directory = root.appendingPathComponent("run")
        var first: RunLock? = try RunLock(directory: directory)
        let url = directory.appendingPathComponent("run.lock")
        XCTAssertEqual(try contents(url), "host \(RunLock.hostName) pid \(getpid())\n")
        let message = thrownMessage { _ = try RunLock(directory: directory) }
        XCTAssertTrue(message.contains("\(directory.path) is in use by another run"), message)
        XCTAssertTrue(message.contains("pid \(getpid())") && message.contains("host \(RunLock.hostName)"), message)
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try RunLock(directory: directory))
    }

    /// The file's text is only information: a file left by a dead holder (here a longer line
    /// than ours, so the rewrite must also drop its tail) is taken over and rewritten.
    func testLeftoverFileIsTakenOverAndRewritten() throws {
        let directory = root.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("run.lock")
        try Data("host some-very-long-host-name-of-a-dead-node pid 4194304\nmore\n".utf8).write(to: url)
        let lock = try RunLock(directory: directory)
        XCTAssertEqual(try contents(url), "host \(RunLock.hostName) pid \(getpid())\n")
        lock.withdraw()
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "a file it did not create is left in place")
    }

    func testWithdrawRemovesOnlyWhatItCreated() throws {
        let fresh = root.appendingPathComponent("a/b/run")
        try RunLock(directory: fresh).withdraw()
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path), "the run directory it created is gone")

        let used = root.appendingPathComponent("used")
        try FileManager.default.createDirectory(at: used, withIntermediateDirectories: true)
        try RunLock(directory: used).withdraw()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: used.path), [], "its own lock file is gone")
        XCTAssertTrue(isDirectory(used), "a directory that was there stays")
    }

    func testALockFileThatIsADirectoryIsNamed() throws {
        let directory = root.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("run.lock"), withIntermediateDirectories: true)
        let message = thrownMessage { _ = try RunLock(directory: directory) }
        XCTAssertTrue(message.contains(directory.appendingPathComponent("run.lock").path), message)
        XCTAssertTrue(message.contains("directory"), message)
    }

    private func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
