import Files
import Foundation
import Glibc
import Training

/// One run per run directory: an exclusive flock(2) on `run.lock` in it, held while the run lives.
///
/// flock, not the file's existence, is the lock: the kernel drops it when the holder exits or is
/// killed (kill -9 included), so a lock file left by a dead run is no obstacle and needs no
/// cleanup. The file holds "host H pid P" of the holder, written after locking, only so that the
/// run that is refused can name it. flock is per open file description: a second open in the same
/// process conflicts too. On NFS, Linux maps flock to a POSIX lock the server arbitrates.
public final class RunLock {
    public static let fileName = "run.lock"

    public let url: URL
    private var descriptor: Int32
    /// What acquiring created, so a start-up that fails can leave the directory as it found it.
    private let createdFile: Bool
    private let createdDirectory: Bool

    /// Locks `directory`'s run.lock, creating the directory and the file when missing. Throws a
    /// UserError naming the holder when another process holds it.
    public init(directory: URL) throws {
        url = directory.appendingPathComponent(Self.fileName)
        createdDirectory = !FileIO.isDirectory(directory)
        if createdDirectory { try FileIO.makeDirectories(directory) }
        var created = false
        descriptor = -1
        // A holder that gives up deletes the file while it still holds it (`withdraw`): a lock won
        // on such an unlinked file locks nothing, so the file must still be the one at `url`.
        for _ in 0..<8 {
            // Not through a link, and never a FIFO or device, which could block or be written to.
            try FileIO.requireReplaceable(url.path)
            var opened = open(url.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            var made = false
            if opened < 0 {
                guard errno == ENOENT else { throw errno == ELOOP ? FileIO.linkRefused(url.path) : FileIO.osError(url.path) }
                opened = open(url.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                if opened < 0 && errno == EEXIST { continue }  // another run created it just now
                guard opened >= 0 else { throw FileIO.osError(url.path) }
                made = true
            }
            var kind = stat()
            guard fstat(opened, &kind) == 0, (kind.st_mode & S_IFMT) == S_IFREG else {
                close(opened)
                throw UserError("\(url.path): not a regular file; not used as the run's lock")
            }
            guard flock(opened, LOCK_EX | LOCK_NB) == 0 else {
                let reason = errno
                close(opened)
                guard reason == EWOULDBLOCK else { throw FileIO.osError(url.path, reason) }
                throw UserError("\(directory.path) is in use by another run (\(Self.holder(of: url))); "
                                + "wait for it to end or choose another --run-dir")
            }
            var mine = stat(), there = stat()
            if fstat(opened, &mine) == 0, stat(url.path, &there) == 0, mine.st_ino == there.st_ino, mine.st_dev == there.st_dev {
                descriptor = opened
                created = made
                break
            }
            close(opened)
        }
        createdFile = created
        guard descriptor >= 0 else { throw UserError("\(url.path): replaced repeatedly while locking it; is another run starting?") }
        try recordHolder()
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Writes "host H pid P\n" over the previous holder's line. The write comes before the
    /// truncation, so a reader taking the first line never sees it empty once the write is done.
    private func recordHolder() throws {
        let line = Array("host \(Self.hostName) pid \(getpid())\n".utf8)
        let written = line.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == line.count, ftruncate(descriptor, off_t(line.count)) == 0 else { throw FileIO.osError(url.path) }
    }

    /// The holder as its lock file names it. Only a line of the form this class writes is
    /// quoted: the file is in a directory others may write, and what it holds is theirs.
    static func holder(of url: URL) -> String {
        guard let bytes = try? FileIO.read(url, limit: 4096, followingLinks: false) else { return "its \(fileName) cannot be read" }
        let first = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard !first.isEmpty else { return "one that has not yet written its host and pid into \(url.path)" }
        let words = first.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 4, words[0] == "host", words[2] == "pid", Int32(words[3]) != nil, words[1].utf8.count <= 64,
              words[1].unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            return "its \(fileName) does not name it"
        }
        return "\(first), as \(url.path) says"
    }

    /// Removes what acquiring created (the file, then the directory when left empty) and releases
    /// the lock: for a start-up that failed before writing anything, so it leaves no trace.
    public func withdraw() {
        if createdFile { unlink(url.path) }
        if createdDirectory { rmdir(url.deletingLastPathComponent().path) }
        close(descriptor)
        descriptor = -1
    }

    static var hostName: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "?" }
        return String(cString: name)
    }
}
