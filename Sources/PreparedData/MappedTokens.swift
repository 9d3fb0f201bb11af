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
    private let mapping: UnsafeRawPointer
    private let length: Int
    private let tokens: UnsafeRawPointer

    /// Opens and maps `path` after checking its header against its size (`TokenFileHeader.parse`).
    /// The ids are checked as `copy` reads them. A link is not followed.
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
        // The mapping holds the file; the descriptor is not needed any more.
        close(fd)
        self.path = path
        header = parsed
        count = parsed.count
        mapping = UnsafeRawPointer(base)
        length = Int(info.st_size)
        tokens = mapping + TokenFileHeader.size
    }

    /// Drops this process's mapping of the pages around tokens `range` (MADV_DONTNEED): they
    /// stay in the page cache, shared, but leave this process's resident set, which otherwise
    /// grows by the large folios the kernel maps around every read (38 MB of a 100 MB corpus in
    /// 20 steps of 32 streams) until the whole corpus counts in every rank's RSS. A fault maps
    /// the folio it lands in, before and after the read, so the whole aligned 2 MiB (the largest
    /// page-cache folio on x86-64) around the read is dropped: releasing only the read's own pages
    /// left 12 MB resident for 32 streams. The next read is a minor fault from the page cache.
    private static let folioSpan = 1 << 21

    private func release(_ range: Range<Int>) {
        let span = Self.folioSpan
        let start = (TokenFileHeader.size + range.lowerBound * header.width) / span * span
        let end = min(length, (TokenFileHeader.size + range.upperBound * header.width + span - 1) / span * span)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: mapping) + start, end - start, MADV_DONTNEED)
    }

    deinit {
        rk_mapped_unregister(mapping)
        munmap(UnsafeMutableRawPointer(mutating: mapping), length)
    }

    /// Writes tokens `range` to `destination` and checks each against the header's vocabulary
    /// size as it goes: the ids are checked where they are read, not in a pass over the whole file
    /// at open (which cost a read of every byte of the corpus at every start). The running
    /// maximum is a compare per id in a loop the compiler vectorises, nothing beside the step.
    /// An id ≥ |V| throws, naming the file and the token's index.
    public func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "token range beyond the file")
        let n = range.count, first = range.lowerBound
        var maximum: UInt32 = 0
        switch header.width {
        case 1:
            let ids = tokens.assumingMemoryBound(to: UInt8.self) + first
            for i in 0..<n {
                destination[i] = Int32(ids[i])
                maximum = max(maximum, UInt32(ids[i]))
            }
        case 2:
            for i in 0..<n {
                let id = UInt16(littleEndian: tokens.loadUnaligned(fromByteOffset: 2 * (first + i), as: UInt16.self))
                destination[i] = Int32(id)
                maximum = max(maximum, UInt32(id))
            }
        default:
            for i in 0..<n {
                let id = UInt32(littleEndian: tokens.loadUnaligned(fromByteOffset: 4 * (first + i), as: UInt32.self))
                destination[i] = Int32(bitPattern: id)
                maximum = max(maximum, id)
            }
        }
        release(first..<(first + n))
        let limit = UInt32(header.vocabularySize)
        guard maximum >= limit else { return }
        let bad = (0..<n).first { UInt32(bitPattern: destination[$0]) >= limit }!
        throw UserError("\(path): token \(first + bad) has id \(UInt32(bitPattern: destination[bad])), not below the vocabulary size \(limit)")
    }
}
