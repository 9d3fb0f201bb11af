import Foundation
import Glibc

/// A regular file opened for appending whole lines (metrics.jsonl) or records (TensorBoard event
/// files), on the system calls themselves so that every failure (a full disk, a read-only file
/// system, a file that is a directory) throws "<path>: <strerror>", as FileIO's do; FileHandle's
/// errors name neither.
public final class AppendingFile {
    public let path: String
    private let fd: Int32

    /// Opens `path`, creating it (mode 0644) when missing; with `new`, only creates it, and an
    /// existing file is an error ("File exists") rather than a file someone else writes. Refuses
    /// anything but a regular file: a link is not followed (these files live in a run
    /// directory), a device or FIFO is refused before it is opened, and the open does not block,
    /// so a FIFO put there in between cannot stall us either.
    public init(path: String, new: Bool = false) throws {
        self.path = path
        try FileIO.requireReplaceable(path)
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | (new ? O_EXCL : 0), 0o644)
        guard fd >= 0 else { throw errno == ELOOP ? FileIO.linkRefused(path) : FileIO.osError(path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = errno
            close(fd)
            throw FileIO.osError(path, reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileIO.notRegular(path, info.st_mode)
        }
    }

    deinit { close(fd) }

    /// Cuts a last line that has no newline (what a crash in the middle of an append leaves) and
    /// returns how many bytes it cut; 0 when the file is empty or ends with "\n". Truncating,
    /// rather than writing "\n" after it, leaves a file whose every line is a whole record: the cut
    /// bytes were never a complete line, so no reader could use them.
    public func dropPartialLastLine() throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileIO.osError(path) }
        let size = Int(info.st_size)
        var end = size
        var chunk = [UInt8](repeating: 0, count: 4096)
        // Back from the end, a chunk at a time, to the last newline (or the start of the file).
        search: while end > 0 {
            let start = max(0, end - chunk.count)
            let n = try chunk.withUnsafeMutableBytes { buffer in
                try readFully(into: buffer.baseAddress!, count: end - start, at: start)
            }
            guard n == end - start else { throw UserError("\(path): changed while being read") }
            for i in stride(from: n - 1, through: 0, by: -1) where chunk[i] == 0x0A {
                end = start + i + 1
                break search
            }
            end = start
        }
        guard end < size else { return 0 }
        guard ftruncate(fd, off_t(end)) == 0 else { throw FileIO.osError(path) }
        return size - end
    }

    /// Appends all of `bytes`; a short or failed write throws with the system's reason
    /// ("No space left on device").
    public func append(_ bytes: [UInt8]) throws {
        let failure = bytes.withUnsafeBytes { FileIO.writeAll(fd, $0) }
        if failure != 0 { throw FileIO.osError(path, failure) }
    }

    private func readFully(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIO.osError(path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
