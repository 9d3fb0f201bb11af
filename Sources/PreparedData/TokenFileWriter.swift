import Files
import Glibc

// Token files are little-endian: ids are written as this machine holds them.
#if _endian(big)
#error("token files are written in the machine's byte order, which must be little-endian")
#endif

/// Writes one token file whose token count, and so its header, is known before a token is
/// encoded: the header, then each rank's ids at their place (`pwrite`). Rank 0 creates the file, exclusively and not through a link, at its full
/// size inside the temporary directory `prepare` renames into place at the end; the other ranks
/// open it without following a link.
final class TokenFileWriter {
    let path: String
    let width: Int
    private let fd: Int32

    /// `creating`: make the file (rank 0) for `count` tokens; else open the one rank 0 made.
    init(path: String, width: Int, count: Int, creating: Bool) throws {
        let flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (creating ? O_CREAT | O_EXCL : 0)
        fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw FileIO.osError(path) }
        self.path = path
        self.width = width
        if creating, ftruncate(fd, off_t(TokenFileHeader.size + count * width)) != 0 { throw FileIO.osError(path) }
    }

    deinit { close(fd) }

    /// Writes `ids` (each below 2^(8·width), `T` of `width` bytes) as tokens `index`, `index + 1`, ….
    func write<T: FixedWidthInteger>(_ ids: [T], at index: Int) throws {
        precondition(MemoryLayout<T>.size == width)
        try ids.withUnsafeBytes { try write($0, at: TokenFileHeader.size + index * width) }
    }

    /// Writes the header, the file's first bytes.
    func writeHeader(_ header: TokenFileHeader) throws {
        try header.encoded().withUnsafeBytes { try write($0, at: 0) }
    }

    /// Makes what this process wrote durable.
    func sync() throws {
        guard fsync(fd) == 0 else { throw FileIO.osError(path) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw FileIO.osError(path, n < 0 ? errno : ENOSPC) }
            done += n
        }
    }
}
