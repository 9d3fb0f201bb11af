import Crypto
import Files
import Glibc

/// The two hashes `prepare` makes of its token files once every rank has written its part: the
/// corpus digest (SHA-256 of every id as little-endian Int32, the training file's then the
/// validation file's: what a run from the text records in its checkpoints, so it cannot be
/// split over ranks) and each file's SHA-256 for `SHA256SUMS`. Both read the files sequentially
/// a megabyte at a time.
enum TokenFileHashes {
    private static let chunkBytes = 1 << 20

    /// The corpus digest of the ids after the header of each file at `paths`, of `width` bytes
    /// each; `progress` gets the bytes of ids read so far.
    static func corpusDigest(_ paths: [String], width: Int, progress: (Int) -> Void) throws -> [UInt8] {
        var digest = Crypto.SHA256()
        var wide = [Int32](repeating: 0, count: chunkBytes)
        var done = 0
        for path in paths {
            try forEachChunk(path, from: TokenFileHeader.size) { chunk in
                guard width != 4 else { return digest.update(bufferPointer: chunk) }
                let n = chunk.count / width
                wide.withUnsafeMutableBufferPointer { out in
                    if width == 1 {
                        for i in 0..<n { out[i] = Int32(chunk[i]) }
                    } else {
                        let ids = chunk.assumingMemoryBound(to: UInt16.self)
                        for i in 0..<n { out[i] = Int32(UInt16(littleEndian: ids[i])) }
                    }
                    digest.update(bufferPointer: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[..<(4 * n)]))
                }
                done += chunk.count
                progress(done)
            }
        }
        return Array(digest.finalize())
    }

    /// The SHA-256 of the file at `path`.
    static func fileHash(_ path: String) throws -> [UInt8] {
        var hash = Crypto.SHA256()
        try forEachChunk(path, from: 0) { hash.update(bufferPointer: $0) }
        return Array(hash.finalize())
    }

    /// Calls `body` with the bytes of the file from `offset` on, a chunk at a time (each a
    /// multiple of 4 bytes but the last).
    private static func forEachChunk(_ path: String, from offset: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileIO.osError(path) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset
        while true {
            var filled = 0
            while filled < chunkBytes {
                let n = pread(fd, buffer.baseAddress! + filled, chunkBytes - filled, off_t(position + filled))
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw FileIO.osError(path) }
                if n == 0 { break }
                filled += n
            }
            if filled > 0 { body(UnsafeRawBufferPointer(rebasing: buffer[..<filled])) }
            guard filled == chunkBytes else { return }
            position += filled
        }
    }
}
