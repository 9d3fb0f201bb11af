import Files
import Glibc

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

    /// The byte at `offset` (the few a split point looks at).
    func byte(at offset: Int) throws -> UInt8 {
        var b: UInt8 = 0
        guard pread(fd, &b, 1, off_t(offset)) == 1 else { throw shrunk() }
        return b
    }

    /// Calls `body` with consecutive pieces of bytes `range` (at most `pieceBytes` new bytes
    /// each), each with its offset from `range.lowerBound`. With `wholeScalars`, no piece ends inside a UTF-8 scalar: the bytes of an
    /// unfinished last one move to the next piece (invalid UTF-8 is left for the decoder to report).
    func forEachPiece(_ range: Range<Int>, wholeScalars: Bool, pieceBytes: Int = TextChunks.pieceBytes,
                      _ body: ([UInt8], Int) throws -> Void) throws {
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
            let cut = wholeScalars && position < range.upperBound ? Self.lastWholeScalarEnd(piece) : piece.count
            carried = Array(piece[cut...])
            try body(cut == piece.count ? piece : Array(piece[..<cut]), pieceOffset)
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
