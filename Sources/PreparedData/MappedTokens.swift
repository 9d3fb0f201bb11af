import CMappedFiles
import Files
import Glibc
import TextData

/// A prepared token file mapped read-only (PROT_READ, MAP_SHARED): the ids are read in place
/// when a batch is filled, so no process holds a copy, a rank touches only the pages of the
/// sequences it reads, and the ranks of one node share the page cache.
///
/// The file must not shrink while mapped: a read of a page past its new end raises SIGBUS. The
/// mapping is registered with CMappedFiles, whose handler then names the file in one line and
/// exits with status 2 (the checkpoints written so far are whole: each is renamed into place).
public final class MappedTokens: TokenStream, @unchecked Sendable {
    public let header: TokenFileHeader
    public let count: Int
    public let path: String
    /// Kept open for `checkIDs`, which reads the file without the mapping.
    private let fd: Int32
    private let mapping: UnsafeRawPointer
    private let length: Int
    private let tokens: UnsafeRawPointer

    /// Opens and maps `path` after checking its header against its size (`TokenFileHeader.parse`).
    /// The ids are not checked yet (`checkIDs`), so that cheaper refusals come first. A link is not
    /// followed.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { throw UserError("\(path): missing") }
            throw errno == ELOOP ? FileIO.linkRefused(path) : FileIO.osError(path)
        }
        var info = stat()
        var head = [UInt8](repeating: 0, count: TokenFileHeader.size)
        let parsed: TokenFileHeader
        let base: UnsafeMutableRawPointer
        do {
            guard fstat(fd, &info) == 0 else { throw FileIO.osError(path) }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileIO.notRegular(path, info.st_mode) }
            guard pread(fd, &head, head.count, 0) == head.count || info.st_size < head.count else { throw FileIO.osError(path) }
            parsed = try TokenFileHeader.parse(head, fileSize: Int(info.st_size), source: path)
            guard let mapped = mmap(nil, Int(info.st_size), PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
                throw FileIO.osError(path)
            }
            base = mapped
            guard rk_mapped_register(mapped, Int(info.st_size), path) == 0 else {
                munmap(mapped, Int(info.st_size))
                throw UserError("\(path): more than 64 token files mapped at once")
            }
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        self.fd = fd
        header = parsed
        count = parsed.count
        mapping = UnsafeRawPointer(base)
        length = Int(info.st_size)
        tokens = mapping + TokenFileHeader.size
    }

    deinit {
        rk_mapped_unregister(mapping)
        munmap(UnsafeMutableRawPointer(mutating: mapping), length)
        close(fd)
    }

    /// Checks every id against the header's vocabulary size, throwing with the position of the
    /// first that is not below it: one sequential pass, by `pread` into a small buffer rather
    /// than through the mapping, so that it leaves no pages in this process's resident set.
    public func checkIDs() throws {
        let limit = UInt32(header.vocabularySize), width = header.width
        // Width 1 with 256 tokens cannot hold a bad id.
        if width == 1, limit == 256 { return }
        let chunkTokens = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunkTokens * width)
        var done = 0
        while done < header.count {
            let n = min(chunkTokens, header.count - done)
            let got = buffer.withUnsafeMutableBytes { pread(self.fd, $0.baseAddress!, n * width, off_t(TokenFileHeader.size + done * width)) }
            guard got == n * width else {
                throw got < 0 ? FileIO.osError(path) : UserError("\(path): shorter than its header says (changed while read?)")
            }
            let bad: Int? = buffer.withUnsafeBytes { raw in
                switch width {
                case 1: return Self.firstAtOrAbove(raw.bindMemory(to: UInt8.self), n, limit)
                case 2: return Self.firstAtOrAbove(raw.bindMemory(to: UInt16.self), n, limit)
                default: return Self.firstAtOrAbove(raw.bindMemory(to: UInt32.self), n, limit)
                }
            }
            if let bad {
                throw UserError("\(path): token \(done + bad) has id \(Self.id(buffer, bad, width)), not below the vocabulary size \(limit)")
            }
            done += n
        }
    }

    private static func firstAtOrAbove<T: FixedWidthInteger & UnsignedInteger>(_ ids: UnsafeBufferPointer<T>, _ n: Int,
                                                                                 _ limit: UInt32) -> Int? {
        // The maximum first (a loop the compiler vectorises), the position only when it is too large.
        var maximum: T = 0
        for i in 0..<n { maximum = max(maximum, T(littleEndian: ids[i])) }
        guard UInt32(maximum) >= limit else { return nil }
        return (0..<n).first { UInt32(T(littleEndian: ids[$0])) >= limit }
    }

    private static func id(_ bytes: [UInt8], _ index: Int, _ width: Int) -> UInt32 {
        (0..<width).reduce(UInt32(0)) { $0 | UInt32(bytes[index * width + $1]) << (8 * $1) }
    }

    public func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "token range beyond the file")
        let n = range.count, first = range.lowerBound
        switch header.width {
        case 1:
            let ids = tokens.assumingMemoryBound(to: UInt8.self) + first
            for i in 0..<n { destination[i] = Int32(ids[i]) }
        case 2:
            for i in 0..<n {
                destination[i] = Int32(UInt16(littleEndian: tokens.loadUnaligned(fromByteOffset: 2 * (first + i), as: UInt16.self)))
            }
        default:
            for i in 0..<n {
                destination[i] = Int32(bitPattern: UInt32(littleEndian: tokens.loadUnaligned(fromByteOffset: 4 * (first + i), as: UInt32.self)))
            }
        }
    }
}
