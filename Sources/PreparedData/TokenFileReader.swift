import Files
import Glibc

/// A prepared token file read with `pread` into the caller's buffer, for one sequential pass over
/// all of it (n-gram counting): read through the mapping, every page would stay in this
/// process's resident set (file-backed, but counted) until the kernel reclaims it, so the
/// process would grow with the corpus. A file that shrinks meanwhile is a UserError here, not a
/// SIGBUS.
public final class TokenFileReader: @unchecked Sendable {
    public let header: TokenFileHeader
    public let path: String
    private let fd: Int32

    /// Opens the file `tokens` maps once more (a link is not followed), and checks that it still
    /// has the same header.
    public init(_ tokens: MappedTokens) throws {
        let path = tokens.path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw errno == ELOOP ? FileIO.linkRefused(path) : FileIO.osError(path) }
        var info = stat()
        var head = [UInt8](repeating: 0, count: TokenFileHeader.size)
        do {
            guard fstat(fd, &info) == 0 else { throw FileIO.osError(path) }
            guard pread(fd, &head, head.count, 0) == head.count || info.st_size < head.count else { throw FileIO.osError(path) }
            guard try TokenFileHeader.parse(head, fileSize: Int(info.st_size), source: path) == tokens.header else {
                throw UserError("\(path): replaced while opened (its header changed)")
            }
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        self.fd = fd
        header = tokens.header
    }

    deinit { close(fd) }

    /// Writes tokens `range` (within 0..<count) to `destination`, widened to Int32.
    public func read(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= header.count, "token range beyond the file")
        let width = header.width, chunk = 1 << 16
        var bytes = [UInt8](repeating: 0, count: min(range.count, chunk) * width)
        var done = 0
        while done < range.count {
            let n = min(chunk, range.count - done)
            let offset = TokenFileHeader.size + (range.lowerBound + done) * width
            var got = 0
            while got < n * width {
                let r = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, n * width - got, off_t(offset + got)) }
                if r < 0, errno == EINTR { continue }
                guard r > 0 else {
                    throw r < 0 ? FileIO.osError(path) : UserError("\(path): shorter than its header says (changed while read?)")
                }
                got += r
            }
            bytes.withUnsafeBytes { raw in
                for i in 0..<n {
                    let out = destination + done + i
                    switch width {
                    case 1: out.pointee = Int32(raw[i])
                    case 2: out.pointee = Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    default: out.pointee = Int32(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                }
            }
            done += n
        }
    }
}
