import Files
import Glibc

/// A sorted run of n-gram counts spilled to disk by `NGramCounter`: for each order n = 1…order in
/// turn, its distinct n-grams in sorted order as records of n Int32 token ids and a UInt64
/// occurrence count (4n + 8 bytes), in this machine's byte order, since the file lives only as
/// long as the process that wrote it.
struct RunFile {
    let path: String
    /// Index n − 1: the number of n-grams of order n.
    let counts: [Int]

    /// Byte offset of order n's records.
    private func offset(_ n: Int) -> Int {
        (1..<n).reduce(0) { $0 + counts[$1 - 1] * (4 * $1 + 8) }
    }

    /// Writes a new file at `path` (created exclusively, never through a link) holding, per order,
    /// the merge of `sources(n)`. On failure the file is removed and the error names `path`.
    static func write(to path: String, order: Int, sources: (Int) throws -> [any CountBlocks]) throws -> RunFile {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIO.osError(path) }
        do {
            var writer = Writer(fd: fd, path: path)
            var counts: [Int] = []
            for n in 1...order {
                writer.written = 0
                try mergeSorted(n, try sources(n), into: &writer)
                counts.append(writer.written)
            }
            try writer.flush()
            guard close(fd) == 0 else { throw FileIO.osError(path) }
            return RunFile(path: path, counts: counts)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// The n-grams of order n, read `blockBytes` at a time (at least one n-gram).
    func blocks(_ n: Int, blockBytes: Int) throws -> Blocks {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileIO.osError(path) }
        return Blocks(file: OpenFile(fd), path: path, n: n, position: offset(n), remaining: counts[n - 1],
                      perBlock: max(1, blockBytes / (4 * n + 8)))
    }

    /// Closes its descriptor when the last reader lets go of it.
    final class OpenFile {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    struct Blocks: CountBlocks {
        let file: OpenFile
        let path: String
        let n: Int
        var position: Int
        var remaining: Int
        let perBlock: Int
        private var bytes: [UInt8] = []

        init(file: OpenFile, path: String, n: Int, position: Int, remaining: Int, perBlock: Int) {
            self.file = file
            self.path = path
            self.n = n
            self.position = position
            self.remaining = remaining
            self.perBlock = perBlock
        }

        mutating func next(rows: inout [Int32], counts: inout [UInt64]) throws -> Bool {
            guard remaining > 0 else { return false }
            let k = min(perBlock, remaining), record = 4 * n + 8, length = k * record
            if bytes.count < length { bytes = [UInt8](repeating: 0, count: length) }
            var done = 0
            while done < length {
                let got = bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress! + done, length - done, off_t(position + done)) }
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    throw got < 0 ? FileIO.osError(path) : UserError("\(path): shorter than written (changed while counting?)")
                }
                done += got
            }
            rows.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            rows.reserveCapacity(k * n)
            counts.reserveCapacity(k)
            bytes.withUnsafeBytes { raw in
                for i in 0..<k {
                    for j in 0..<n { rows.append(raw.loadUnaligned(fromByteOffset: i * record + 4 * j, as: Int32.self)) }
                    counts.append(raw.loadUnaligned(fromByteOffset: i * record + 4 * n, as: UInt64.self))
                }
            }
            position += length
            remaining -= k
            return true
        }
    }

    /// Buffers records and writes them 64 KiB at a time.
    private struct Writer: CountSink {
        let fd: Int32
        let path: String
        var buffer: [UInt8] = []
        /// N-grams appended since it was last set to 0.
        var written = 0
        static let bufferBytes = 1 << 16

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(Self.bufferBytes)
        }

        mutating func append(_ row: UnsafeBufferPointer<Int32>, _ count: UInt64) throws {
            buffer.append(contentsOf: UnsafeRawBufferPointer(row))
            withUnsafeBytes(of: count) { buffer.append(contentsOf: $0) }
            written += 1
            if buffer.count >= Self.bufferBytes { try flush() }
        }

        mutating func flush() throws {
            let failure = buffer.withUnsafeBytes { FileIO.writeAll(fd, $0) }
            guard failure == 0 else { throw FileIO.osError(path, failure) }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
