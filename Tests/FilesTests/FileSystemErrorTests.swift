import ErrorAssertions
import Files
import Foundation
import Glibc
import TestSupport
import XCTest

/// Every file-system failure reads "<path>: <the system's reason>", met on a real full or
/// read-only tmpfs, whether the error came from FileIO, AppendingFile or Foundation (the metrics log
/// on such file systems: FileSystemMetricsLogTests).
final class FileSystemErrorTests: XCTestCase {
    /// The reason as strerror(3) words it, looked up here rather than spelt in the test.
    private func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    private func assertOneLine(_ text: String, is expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(text, expected, file: file, line: line)
        XCTAssertFalse(text.contains("Error Domain") || text.contains("UserInfo"), "an NSError dump: \(text)",
                       file: file, line: line)
    }

    func testFoundationErrorOnAReadOnlyFileSystemNamesPathAndReason() throws {
        let fs = try SmallFileSystem(self)
        try fs.remountReadOnly()
        let run = fs.url.appendingPathComponent("run/checkpoints")
        do {
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            XCTFail("created a directory on a read-only file system")
        } catch {
            // Foundation names the first directory it could not make.
            assertOneLine(UserError.describing(error), is: "\(fs.url.appendingPathComponent("run").path): \(reason(EROFS))")
        }
    }

    func testFoundationErrorOnAFullFileSystemNamesPathAndReason() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill()
        let target = fs.url.appendingPathComponent("data.bin")
        do {
            try Data(repeating: 7, count: 10_000).write(to: target)
            XCTFail("wrote 10 kB to a full file system")
        } catch {
            let line = UserError.describing(error)
            XCTAssertTrue(line.hasSuffix(": \(reason(ENOSPC))"), line)
            XCTAssertTrue(line.contains(fs.url.path), "does not name the file system's path: \(line)")
            XCTAssertFalse(line.contains("Error Domain"), line)
        }
    }

    func testOtherErrorsKeepTheirDescriptionOnOneLine() {
        struct Multiline: Error, CustomStringConvertible { var description: String { "first\nsecond" } }
        XCTAssertEqual(UserError.describing(Multiline()), "first second")
        XCTAssertEqual(UserError.describing(UserError("a.yaml: no such file")), "a.yaml: no such file")
        XCTAssertEqual(UserError.describing(Multiline()) { _ in "from the caller" }, "from the caller")
        XCTAssertEqual(UserError.describing(POSIXError(.EACCES)), reason(EACCES))
    }

    func testAtomicWriteOnAFullDiskNamesTheFileNotItsTemporary() throws {
        let fs = try SmallFileSystem(self)
        try fs.fill()
        let url = fs.url.appendingPathComponent("config.yaml")
        assertUserError(try FileIO.writeAtomically(Array("model:\n".utf8), to: url),
                        mentions: ["\(url.path): \(reason(ENOSPC))"])
        XCTAssertEqual(try FileIO.names(in: fs.url), ["filler"], "the temporary file was left behind")
    }

    func testListingSomethingThatIsNotADirectory() throws {
        let fs = try SmallFileSystem(self)
        let file = fs.url.appendingPathComponent("plain")
        try FileIO.writeSynced([1], to: file)
        assertUserError(try FileIO.names(in: file), mentions: ["\(file.path): \(reason(ENOTDIR))"])
        XCTAssertEqual(try FileIO.names(in: fs.url), ["plain"])
    }

    func testDevicesAndFIFOsAreNamedForWhatTheyAre() throws {
        let fs = try SmallFileSystem(self)
        let zero = try DeviceNode.make(DeviceNode.zero, named: "zero", in: fs.url)
        assertUserError(try FileIO.read(zero), mentions: ["\(zero.path): not a regular file (a character device)"])
        let fifo = fs.url.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        // Opened without blocking: with no writer, a blocking open would never return.
        assertUserError(try FileIO.readNamed(fifo.path, kind: "text file"), mentions: ["\(fifo.path): not a regular file (a FIFO)"])
        assertUserError(try AppendingFile(path: fifo.path), mentions: ["\(fifo.path): not a regular file (a FIFO)"])
        assertUserError(try FileIO.readNamed(fs.url.path, kind: "text file"), mentions: ["\(fs.url.path): is a directory"])
    }
}
