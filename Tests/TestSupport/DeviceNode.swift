import Foundation
import Glibc
import XCTest

/// Character devices of the test's own, made with mknod in a scratch directory, so that tests
/// meet a device without touching /dev (a tool that replaced its output would otherwise replace
/// the machine's /dev/full). mknod needs root (CI runs as root); elsewhere the test is skipped,
/// not passed.
public enum DeviceNode {
    /// Linux's memory devices: reads of zero never end, writes to full fail with ENOSPC.
    public static let zero = (major: UInt32(1), minor: UInt32(5))
    public static let full = (major: UInt32(1), minor: UInt32(7))

    /// A new character device `name` in `directory` with the given numbers.
    public static func make(_ device: (major: UInt32, minor: UInt32), named name: String, in directory: URL) throws -> URL {
        guard geteuid() == 0 else { throw XCTSkip("mknod needs root") }
        let url = directory.appendingPathComponent(name)
        let number = dev_t(device.major) << 8 | dev_t(device.minor)
        guard mknod(url.path, S_IFCHR | 0o666, number) == 0 else {
            throw XCTSkip("mknod \(url.path): \(String(cString: strerror(errno)))")
        }
        return url
    }
}
