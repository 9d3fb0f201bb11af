import Foundation
import Glibc

/// Small POSIX file helpers. They call the system directly (not FileManager) for two reasons:
/// durability needs `fsync` on files and directories, and every failure must reach the user as one
/// line "<path>: <strerror>".
public enum FileIO {
    /// The whole file. The buffer is sized by `fstat` of the open file, so a file can never make
    /// us allocate more than it holds, and a file of more than `limit` bytes is refused before
    /// anything is allocated. Only regular files are read: opened without blocking, so a FIFO
    /// cannot stall us, and refused, as are devices (/dev/zero would never end). Without
    /// `followingLinks` (a file inside a checkpoint or run directory, which may come from someone
    /// else) a symbolic link is refused rather than followed to whatever file it names.
    public static func read(_ url: URL, limit: Int = .max, followingLinks: Bool = true) throws -> [UInt8] {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followingLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw errno == ELOOP && !followingLinks ? linkRefused(path) : osError(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw osError(path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw notRegular(path, info.st_mode) }
        let size = Int(info.st_size)
        guard size <= limit else { throw UserError("\(path): \(size) bytes, more than the \(limit) this file may have") }
        var readError: Int32 = 0
        // If the file shrinks while we read, keep what was there; if it grows, ignore the growth.
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if readError != 0 { throw osError(path, readError) }
        return bytes
    }

    /// A file the user named (a corpus, a text to evaluate, a config), read by `read`; the two
    /// mistakes a path commonly makes get their own message: "no such file", "is a directory,
    /// not a <kind>".
    public static func readNamed(_ path: String, kind: String, limit: Int = .max) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw UserError("\(path): no such file") }
            throw osError(path)
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw UserError("\(path): is a directory, not a \(kind)") }
        return try read(URL(fileURLWithPath: path), limit: limit)
    }

    /// Replaces `url` with `bytes` so that a crash leaves either the old or the new content, never a
    /// mix: write a temporary sibling, fsync it, rename it over `url`, fsync the directory. A
    /// failure names `url`, the file the user knows, not the temporary one.
    /// Only a regular file is replaced: a symlink, FIFO, device or directory at `url` is refused
    /// (`requireReplaceable`), since the rename would put our file in its place (as root, over
    /// /dev/null). The temporary name is removed first and created exclusively, so a link
    /// planted under it is never followed.
    public static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        try writeAtomically(to: url) { write in try write(bytes) }
    }

    /// `writeAtomically` for a file too large to hold whole: `produce` hands its pieces to the
    /// `write` it is given, in order. When `produce` or a write throws, the temporary file is
    /// removed and `url` is left as it was.
    public static func writeAtomically(to url: URL, _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        try requireReplaceable(url.path)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        unlink(temporary.path)
        do {
            try writeSynced(path: temporary.path, naming: url.path, produce)
            guard rename(temporary.path, url.path) == 0 else { throw osError(url.path) }
        } catch {
            unlink(temporary.path)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Makes a directory's entries (created, renamed, removed files) durable. Linux allows fsync on a
    /// directory opened read-only; without it a rename may be lost in a power cut.
    public static func syncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw osError(url.path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw osError(url.path) }
    }

    /// Creates `url`, which must not exist yet (nor be a link), writes all of `bytes` and fsyncs
    /// it before closing.
    public static func writeSynced(_ bytes: [UInt8], to url: URL) throws {
        try writeSynced(path: url.path, naming: url.path) { write in try write(bytes) }
    }

    /// Creates `path` exclusively, without following a link, writes what `produce` hands its
    /// `write`, fsyncs and closes it; errors name `name`.
    private static func writeSynced(path: String, naming name: String,
                                    _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw osError(name) }
        var isOpen = true
        defer { if isOpen { close(fd) } }
        try produce { piece in
            let failure = piece.withUnsafeBytes { writeAll(fd, $0) }
            if failure != 0 { throw osError(name, failure) }
        }
        guard fsync(fd) == 0 else { throw osError(name) }
        isOpen = false
        // close can report a deferred write error (e.g. on NFS); treat it as a failure too.
        guard close(fd) == 0 else { throw osError(name) }
    }

    /// Writes all of `bytes` to `fd`: interrupted writes are retried, and a descriptor some parent
    /// left non-blocking is waited on until it takes more. The errno of a failure, 0 on success.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n >= 0 {
                done += n
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, -1)
            default:
                return errno
            }
        }
        return 0
    }

    /// `mkdir -p`: creates `url` and any missing parents; fine if it already is a directory.
    public static func makeDirectories(_ url: URL) throws {
        let path = url.path
        if mkdir(path, 0o755) == 0 { return }
        let reason = errno
        if reason == EEXIST {
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
            throw osError(path, ENOTDIR)
        }
        guard reason == ENOENT else { throw osError(path, reason) }
        let parent = url.deletingLastPathComponent()
        guard parent.path != path else { throw osError(path, reason) }
        try makeDirectories(parent)
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw osError(path) }
    }

    /// Creates directory `url` inside a directory of ours (a run's checkpoints/, tb/); fine if it
    /// already is a directory, refused if it is a link, so that nothing we write there lands
    /// where a link points.
    public static func makeOwnDirectory(_ url: URL) throws {
        guard mkdir(url.path, 0o755) != 0 else { return }
        guard errno == EEXIST else { throw osError(url.path) }
        var info = stat()
        guard lstat(url.path, &info) == 0 else { throw osError(url.path) }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return
        case S_IFLNK: throw linkRefused(url.path)
        default: throw osError(url.path, ENOTDIR)
        }
    }

    /// Nothing, when `path` is missing or a regular file; otherwise the line that refuses to
    /// replace it ("<path>: not a regular file (a FIFO); not replaced"), or the reason it
    /// cannot be examined.
    public static func requireReplaceable(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw osError(path)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: throw UserError("\(path): a symbolic link; not followed and not replaced (name the file itself)")
        default: throw UserError("\(notRegular(path, info.st_mode)); not replaced")
        }
    }

    /// "<path>: a symbolic link, not followed inside a checkpoint or run directory".
    public static func linkRefused(_ path: String) -> UserError {
        UserError("\(path): a symbolic link, not followed inside a checkpoint or run directory")
    }

    /// Removes a file or a directory tree; a missing path is not an error.
    public static func removeTree(_ url: URL) throws {
        let path = url.path
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw osError(path)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try names(in: url) { try removeTree(url.appendingPathComponent(name)) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw osError(path) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw osError(path) }
        }
    }

    /// The entries of directory `url` but "." and "..", in the order the file system gives;
    /// a failure says why ("Permission denied", "Not a directory").
    public static func names(in url: URL) throws -> [String] {
        guard let directory = opendir(url.path) else { throw osError(url.path) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw osError(url.path) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." { names.append(name) }
        }
    }

    /// True when `url` exists and is a directory (symlinks are not followed).
    public static func isDirectory(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// "<path>: not a regular file (a FIFO)", or a character device, … for a file of `mode`.
    public static func notRegular(_ path: String, _ mode: mode_t) -> UserError {
        guard let kind = kind(mode), mode & S_IFMT != S_IFREG else { return UserError("\(path): not a regular file") }
        return UserError("\(path): not a regular file (\(kind))")
    }

    /// "a directory", "a FIFO", … for a stat mode; nil for a kind without a name here.
    public static func kind(_ mode: mode_t) -> String? {
        let kinds: [mode_t: String] = [S_IFREG: "a regular file", S_IFDIR: "a directory", S_IFIFO: "a FIFO",
                                       S_IFCHR: "a character device", S_IFBLK: "a block device", S_IFSOCK: "a socket",
                                       S_IFLNK: "a symbolic link"]
        return kinds[mode & S_IFMT]
    }

    /// "<path>: <strerror>" for the current (or given) errno.
    public static func osError(_ path: String, _ code: Int32 = errno) -> UserError {
        UserError("\(path): \(String(cString: strerror(code)))")
    }
}
