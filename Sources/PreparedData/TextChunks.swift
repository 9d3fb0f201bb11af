import Files
import Glibc
import TextData

/// A text file read a piece at a time, so that preparing a corpus needs memory for one piece,
/// not for the corpus. Only regular files are read (opened without blocking, so a FIFO cannot
/// stall us; devices refused), as `FileIO.read` does.
public final class TextChunks {
    /// Bytes read per piece: large enough that the system calls cost nothing, small enough to
    /// stay in the caches while one is tokenized.
    public static let pieceBytes = 4 << 20

    let path: String
    let size: Int
    private let fd: Int32

    init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw UserError("\(path): no such file") }
            throw FileIO.osError(path)
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw UserError("\(path): is a directory, not a text file") }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileIO.osError(path) }
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw FileIO.osError(path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileIO.notRegular(path, info.st_mode)
        }
        self.path = path
        size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// Where pieces may end: anywhere (byte), after a whole UTF-8 scalar (char), after
    /// whitespace (word), so that each piece tokenizes as it would inside the whole text.
    public enum Cut { case anywhere, scalar, word }

    /// The last block `byte(at:)` read: a split point looks at a few bytes (char) or scans up to
    /// half the validation size either way from its first guess for a line end (word).
    private var block: (start: Int, bytes: [UInt8]) = (0, [])
    private static let blockBytes = 1 << 16

    /// The byte at `offset`, read with its neighbours a block at a time.
    func byte(at offset: Int) throws -> UInt8 {
        if !(block.start..<(block.start + block.bytes.count)).contains(offset) {
            let start = offset - offset % Self.blockBytes
            let n = min(Self.blockBytes, size - start)
            var bytes = [UInt8](repeating: 0, count: n)
            guard n > 0, pread(fd, &bytes, n, off_t(start)) == n else { throw shrunk() }
            block = (start, bytes)
        }
        return block.bytes[offset - block.start]
    }

    /// Calls `body` with consecutive pieces of bytes `range` (at most `pieceBytes` new bytes
    /// each), each with its offset from `range.lowerBound` and whether it is the last. A piece
    /// ends where `cut` allows: the bytes after that move to the next piece (invalid UTF-8 is left
    /// for the decoder to report).
    func forEachPiece(_ range: Range<Int>, cut: Cut, pieceBytes: Int = TextChunks.pieceBytes,
                      _ body: ([UInt8], Int, Bool) throws -> Void) throws {
        var carried: [UInt8] = []
        var position = range.lowerBound
        while position < range.upperBound {
            let n = min(pieceBytes, range.upperBound - position)
            var piece = carried
            let start = piece.count
            piece += [UInt8](repeating: 0, count: n)
            var done = 0
            while done < n {
                let got = piece.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + start + done, n - done, off_t(position + done)) }
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { throw got < 0 ? FileIO.osError(path) : shrunk() }
                done += got
            }
            let pieceOffset = position - range.lowerBound - carried.count
            position += n
            let final = position == range.upperBound
            let end: Int
            switch final ? .anywhere : cut {
            case .anywhere: end = piece.count
            case .scalar: end = Self.lastWholeScalarEnd(piece)
            case .word: end = piece.lastIndex(where: isWordSpace).map { $0 + 1 } ?? 0
            }
            carried = Array(piece[end...])
            // A piece without whitespace (one long word) waits whole for the next.
            if end > 0 { try body(end == piece.count ? piece : Array(piece[..<end]), pieceOffset, final) }
        }
    }

    /// Where the unfinished scalar at the end of `bytes` starts, or `bytes.count` when the last
    /// scalar is complete.
    static func lastWholeScalarEnd(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        for back in 1...min(4, n) {
            let b = bytes[n - back]
            if b & 0xC0 == 0x80 { continue }
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            return length > back ? n - back : n
        }
        return n
    }

    private func shrunk() -> UserError { UserError("\(path): shorter than when it was opened (changed while read?)") }
}
