import ErrorAssertions
import Foundation
import Glibc
@testable import Runs
import TestSupport
@testable import Training
import XCTest

/// The metrics log on a full or read-only tmpfs: the message is "<path>: <the system's reason>".
final class FileSystemMetricsLogTests: XCTestCase {
    /// The reason as strerror(3) words it, looked up here rather than spelt in the test.
    private func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    func testMetricsAppendOnAFullDiskNamesTheFile() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill()
        let url = fs.url.appendingPathComponent("metrics.jsonl")
        let log = try MetricsLog(url: url)
        assertUserError(try log.append([("step", .number(1))]), mentions: ["\(url.path): \(reason(ENOSPC))"])
    }

    func testMetricsInARunDirectoryOnAReadOnlyFileSystem() throws {
        let fs = try SmallFileSystem(self)
        try fs.remountReadOnly()
        let url = fs.url.appendingPathComponent("metrics.jsonl")
        assertUserError(try MetricsLog(url: url), mentions: ["\(url.path): \(reason(EROFS))"])
    }
}
