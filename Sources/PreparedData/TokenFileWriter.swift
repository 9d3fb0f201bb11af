import Crypto
import Files
import Glibc

/// Writes one token file: a header of zeros, the ids as they are encoded, then the real header
/// once the count and the corpus digest are known. The file is created exclusively and not
/// through a link, inside the temporary directory `prepare` renames into place at the end.
final class TokenFileWriter {
    let path: String
    let width: Int
    private(set) var count = 0
    private let fd: Int32

    init(path: String, width: Int) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIO.osError(path) }
        self.path = path
        self.width = width
        try [UInt8](repeating: 0, count: TokenFileHeader.size).withUnsafeBytes { try write($0) }
    }

    deinit { close(fd) }

    /// Appends `ids` (each below 2^(8·width)) and feeds them as little-endian Int32 to `digest`.
    func append(_ ids: [Int32], digest: inout Crypto.SHA256) throws {
        ids.withUnsafeBytes { digest.update(bufferPointer: $0) }
        switch width {
        case 1: try ids.map { UInt8(truncatingIfNeeded: $0) }.withUnsafeBytes { try write($0) }
        case 2: try ids.map { UInt16(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { try write($0) }
        default: try ids.map { $0.littleEndian }.withUnsafeBytes { try write($0) }
        }
        count += ids.count
    }

    /// Writes the header over the placeholder and makes the file durable.
    func finish(_ header: TokenFileHeader) throws {
        let bytes = header.encoded()
        guard pwrite(fd, bytes, bytes.count, 0) == bytes.count else { throw FileIO.osError(path) }
        guard fsync(fd) == 0 else { throw FileIO.osError(path) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        let failure = FileIO.writeAll(fd, bytes)
        if failure != 0 { throw FileIO.osError(path, failure) }
    }
}
