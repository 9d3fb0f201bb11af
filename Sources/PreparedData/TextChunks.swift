import Files
import Glibc
import TextData

/// The joined text of a `TextFiles` listing, read a piece at a time, so that preparing a corpus
/// needs memory for one piece, not for the corpus. Only regular files are read (opened without
/// blocking, so a FIFO put in a file's place cannot stall us; anything else refused), as
/// `FileIO.read` does, and each must still have the size it was listed with.
public final class TextChunks {
    /// Bytes read per piece: large enough that the system calls cost nothing, small enough to
    /// stay in the caches while one is tokenized.
    public static let pieceBytes = 4 << 20

    let files: TextFiles
    var size: Int { files.size }

    init(files: TextFiles) {
        self.files = files
    }

    /// Where pieces may end: anywhere (byte), after a whole UTF-8 scalar (char), after
    /// whitespace (word), so that each piece tokenizes as it would inside the whole text.
    public enum Cut { case anywhere, scalar, word }

    /// The last block `byte(at:)` read, by file index and offset in it: a split point looks at a
    /// few bytes (char) or scans up to half the validation size either way for a line end (word).
    private var block: (file: Int, start: Int, bytes: [UInt8]) = (-1, 0, [])
    private static let blockBytes = 1 << 16

    /// The byte at joined `offset`, read with its neighbours a block at a time.
    func byte(at offset: Int) throws -> UInt8 {
        let index = files.fileIndex(at: offset)
        let file = files.files[index]
        let local = offset - file.start
        if local == file.size { return 0x0A }
        if block.file != index || !(block.start..<(block.start + block.bytes.count)).contains(local) {
            let start = local - local % Self.blockBytes
            var bytes = [UInt8](repeating: 0, count: min(Self.blockBytes, file.size - start))
            let fd = try open(file)
            defer { close(fd) }
            try read(fd, file, into: &bytes, count: bytes.count, at: start)
            block = (index, start, bytes)
        }
        return block.bytes[local - block.start]
    }

    /// Calls `body` with consecutive pieces of joined bytes `range` (at most `pieceBytes` new
    /// bytes each), file by file: the piece, its file's path, where it starts in that file, and
    /// whether it is the end of the text (the last piece of `range` when `endsText`). A piece
    /// ends where `cut` allows or at the end of its file's part (the bytes after a cut move to the
    /// next piece; invalid UTF-8 is left for the decoder to report).
    func forEachPiece(_ range: Range<Int>, cut: Cut, pieceBytes: Int = TextChunks.pieceBytes, endsText: Bool = true,
                      _ body: (UnsafeBufferPointer<UInt8>, String, Int, Bool) throws -> Void) throws {
        let parts = files.segments(range)
        for (k, part) in parts.enumerated() {
            let file = files.files[part.file]
            let fileBytes = part.range.clamped(to: 0..<file.size)
            let fd = try open(file)
            defer { close(fd) }
            var carried: [UInt8] = []
            var position = fileBytes.lowerBound
            repeat {
                let n = min(pieceBytes, fileBytes.upperBound - position)
                let start = carried.count
                var piece = carried
                piece += repeatElement(0, count: n)
                try read(fd, file, into: &piece, from: start, count: n, at: position)
                let pieceOffset = position - carried.count
                position += n
                let last = position == fileBytes.upperBound
                if last, part.range.upperBound > file.size { piece.append(0x0A) }
                let end: Int
                switch last ? .anywhere : cut {
                case .anywhere: end = piece.count
                case .scalar: end = Self.lastWholeScalarEnd(piece)
                case .word: end = piece.lastIndex(where: isWordSpace).map { $0 + 1 } ?? 0
                }
                carried = Array(piece[end...])
                // A piece without whitespace (one long word) waits whole for the next.
                if end > 0 {
                    let final = last && endsText && k == parts.count - 1
                    try piece.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<end]), file.path, pieceOffset, final) }
                }
            } while position < fileBytes.upperBound
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

    /// `file` opened for reading: still a regular file of the size it was listed with.
    private func open(_ file: TextFiles.File) throws -> Int32 {
        let fd = Glibc.open(file.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileIO.osError(file.path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw FileIO.osError(file.path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileIO.notRegular(file.path, info.st_mode)
        }
        guard Int(info.st_size) == file.size else {
            close(fd)
            throw TextFiles.changed(file.path)
        }
        return fd
    }

    /// Reads `count` bytes at `offset` of the file into `bytes` from index `from`.
    private func read(_ fd: Int32, _ file: TextFiles.File, into bytes: inout [UInt8], from: Int = 0, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + from + done, count - done, off_t(offset + done)) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { throw got < 0 ? FileIO.osError(file.path) : TextFiles.changed(file.path) }
            done += got
        }
    }
}
