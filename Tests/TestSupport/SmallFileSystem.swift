import Foundation
import Glibc
import XCTest

/// A tmpfs of a few pages mounted on a fresh directory for one test, to meet a full disk or a
/// read-only file system for real; unmounted and removed when the test ends. Mounting needs
/// root (CI runs as root); elsewhere the test is skipped, not passed.
public struct SmallFileSystem {
    public let url: URL

    public init(_ test: XCTestCase, kilobytes: Int = 64) throws {
        guard geteuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", url.path])
        let mounted = url
        test.addTeardownBlock {
            try? Self.run("/bin/umount", [mounted.path])
            try? FileManager.default.removeItem(at: mounted)
        }
    }

    /// Fills every free page but `leavingKilobytes` with one file "filler", so a write that needs
    /// a page beyond those fails with ENOSPC.
    public func fill(leavingKilobytes: Int = 0) throws {
        let fd = open(url.appendingPathComponent("filler").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        defer { close(fd) }
        let page = [UInt8](repeating: 0, count: 4096)
        var written = 0
        while write(fd, page, page.count) > 0 { written += page.count }
        XCTAssertEqual(errno, ENOSPC, "filling the tmpfs stopped for another reason")
        XCTAssertEqual(ftruncate(fd, off_t(max(0, written - leavingKilobytes * 1024))), 0)
    }

    public func remountReadOnly() throws {
        try Self.run("/bin/mount", ["-o", "remount,ro", url.path])
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw XCTSkip("\(tool) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
    }
}
