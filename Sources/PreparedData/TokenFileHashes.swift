import Crypto
import Dispatch
import Files
import Glibc

/// The corpus digest of a prepared dataset: SHA-256 of every id as little-endian Int32, the
/// training file's then the validation file's. It is what a run from the text records in its
/// checkpoints, so it is one sequential hash that cannot be split over ranks: rank 0 feeds it
/// the ids it encodes while they are a prefix of that order (all of them at one rank), hashed on
/// another thread beside the encoding, and reads the rest back from the token files.
final class CorpusDigest: @unchecked Sendable {
    private var hash = Crypto.SHA256()
    private let queue = DispatchQueue(label: "corpus digest")
    /// Pieces handed over but not yet hashed, at most this many: memory stays bounded when
    /// hashing is slower than encoding.
    private let inFlight = DispatchSemaphore(value: 3)
    private var wide = [Int32]()

    /// Hashes `ids`, the next ids in order, on the digest's thread.
    func add<T: FixedWidthInteger>(_ ids: [T]) {
        inFlight.wait()
        queue.async {
            ids.withUnsafeBytes { self.update($0, width: MemoryLayout<T>.size) }
            self.inFlight.signal()
        }
    }

    /// Hashes tokens `tokens` of the token file at `path`, of `width` bytes each, the next ids in
    /// order, reading it a megabyte at a time; `progress` gets the bytes read so far.
    func add(file path: String, tokens: Range<Int>, width: Int, progress: (Int) -> Void) throws {
        try queue.sync {
            var done = 0
            try TokenFileHashes.forEachChunk(path, TokenFileHeader.size + tokens.lowerBound * width..<TokenFileHeader.size + tokens.upperBound * width) {
                update($0, width: width)
                done += $0.count
                progress(done)
            }
        }
    }

    /// The digest of everything added.
    func finalize() -> [UInt8] {
        queue.sync { Array(hash.finalize()) }
    }

    /// Hashes `bytes`, ids of `width` bytes, as Int32s.
    private func update(_ bytes: UnsafeRawBufferPointer, width: Int) {
        guard width != 4 else { return hash.update(bufferPointer: bytes) }
        let n = bytes.count / width
        if wide.count < n { wide = [Int32](repeating: 0, count: n) }
        wide.withUnsafeMutableBufferPointer { out in
            let wide = out.baseAddress!
            if width == 1 {
                let ids = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n { wide[i] = Int32(ids[i]) }
            } else {
                for i in 0..<n { wide[i] = Int32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            }
            hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[..<(4 * n)]))
        }
    }
}

/// Reading token files back for hashes.
enum TokenFileHashes {
    private static let chunkBytes = 1 << 20

    /// The SHA-256 of the file at `path`, for `SHA256SUMS`.
    static func fileHash(_ path: String) throws -> [UInt8] {
        var hash = Crypto.SHA256()
        try forEachChunk(path, 0..<Int.max) { hash.update(bufferPointer: $0) }
        return Array(hash.finalize())
    }

    /// Calls `body` with bytes `range` of the file (up to its end), a chunk at a time (each a
    /// multiple of 4 bytes but the last).
    static func forEachChunk(_ path: String, _ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileIO.osError(path) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var position = range.lowerBound
        while position < range.upperBound {
            let want = min(chunkBytes, range.upperBound - position)
            var filled = 0
            while filled < want {
                let n = pread(fd, buffer.baseAddress! + filled, want - filled, off_t(position + filled))
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw FileIO.osError(path) }
                if n == 0 { break }
                filled += n
            }
            if filled > 0 { body(UnsafeRawBufferPointer(rebasing: buffer[..<filled])) }
            guard filled == want else { return }
            position += filled
        }
    }
}
