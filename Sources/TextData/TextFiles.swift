import Files
import Glibc

/// The text a `data.path` (or `data.val_path`) names, as one sequence of bytes: one text file, the
/// files of a directory, or the files a glob matches. `Corpus.load` and `rnntrain prepare` both
/// read a path through this listing, so they see the same bytes.
///
/// The joined text: the files in byte order of their full paths, concatenated, with a "\n" after
/// each file but the last that does not end with one, so that no line, word or UTF-8 scalar spans
/// two files. Empty files are skipped. A directory's files are its entries but those whose names
/// start with "." (hidden files), not recursively: an entry that is a directory (or a link to
/// one), a FIFO, a device or a socket is refused, as is such a glob match. A path containing `*`,
/// `?` or `[` is a glob (glob(3)); one that matches nothing is refused. A single named file is
/// read as it is, without a "\n" added.
public struct TextFiles: Sendable {
    public struct File: Sendable, Equatable {
        public let path: String
        /// Bytes in the file.
        public let size: Int
        /// Where the file starts in the joined text.
        public let start: Int
        /// Whether a "\n" follows it in the joined text.
        public let separated: Bool
        /// Its extent in the joined text: its bytes, then the added "\n".
        public var end: Int { start + size + (separated ? 1 : 0) }
    }

    /// The path as the user gave it, for messages about the whole text.
    public let source: String
    /// The non-empty files, in order.
    public let files: [File]
    /// Bytes in the joined text.
    public var size: Int { files.last?.end ?? 0 }

    /// Lists the files `path` names and checks each is a regular file (links followed). The text
    /// must not be empty.
    public static func list(_ path: String) throws -> TextFiles {
        var info = stat()
        let paths: [String]
        if path.contains(where: { "*?[".contains($0) }) {
            paths = try expand(glob: path)
        } else {
            guard stat(path, &info) == 0 else {
                if errno == ENOENT { throw UserError("\(path): no such file") }
                throw FileIO.osError(path)
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                let directory = path.hasSuffix("/") ? path : path + "/"
                paths = try FileIO.names(in: .init(fileURLWithPath: path)).filter { !$0.hasPrefix(".") }.map { directory + $0 }
                guard !paths.isEmpty else { throw UserError("\(path): an empty directory, no text files in it") }
            } else {
                paths = [path]
            }
        }
        var files: [File] = []
        var start = 0
        var lastByte: UInt8 = 0x0A
        for name in paths.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let (size, last) = try examine(name)
            guard size > 0 else { continue }
            if let previous = files.last, lastByte != 0x0A {
                files[files.count - 1] = File(path: previous.path, size: previous.size, start: previous.start, separated: true)
                start += 1
            }
            files.append(File(path: name, size: size, start: start, separated: false))
            start += size
            lastByte = last
        }
        guard !files.isEmpty else {
            throw UserError(paths.count == 1 ? "\(paths[0]): file is empty" : "\(path): all \(paths.count) files are empty")
        }
        return TextFiles(source: path, files: files)
    }

    /// The index of the file whose extent holds joined offset `offset` (< `size`).
    public func fileIndex(at offset: Int) -> Int {
        var low = 0, high = files.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if files[middle].start <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The parts of joined `range` file by file: each file's index and the part's range within
    /// the file's extent (`size` there is the added "\n").
    public func segments(_ range: Range<Int>) -> [(file: Int, range: Range<Int>)] {
        guard !range.isEmpty else { return [] }
        var parts: [(file: Int, range: Range<Int>)] = []
        var index = fileIndex(at: range.lowerBound)
        while index < files.count, files[index].start < range.upperBound {
            let file = files[index]
            parts.append((index, (max(range.lowerBound, file.start) - file.start)..<(min(range.upperBound, file.end) - file.start)))
            index += 1
        }
        return parts
    }

    /// Calls `body` with the parts of joined `range` of `text` (this listing's text, in memory)
    /// file by file: each part's bytes, its file, where it starts in that file, and whether it
    /// ends the range.
    public func forEachPart(of text: [UInt8], _ range: Range<Int>,
                            _ body: (UnsafeBufferPointer<UInt8>, String, Int, Bool) throws -> Void) throws {
        let parts = segments(range)
        try text.withUnsafeBufferPointer { all in
            for (k, part) in parts.enumerated() {
                let file = files[part.file]
                let bytes = UnsafeBufferPointer(rebasing: all[(file.start + part.range.lowerBound)..<(file.start + part.range.upperBound)])
                try body(bytes, file.path, part.range.lowerBound, k == parts.count - 1)
            }
        }
    }

    /// The whole joined text in memory; a file whose size changed since it was listed is refused.
    public func read() throws -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(size)
        for file in files {
            let bytes = try FileIO.read(.init(fileURLWithPath: file.path))
            guard bytes.count == file.size else { throw Self.changed(file.path) }
            text += bytes
            if file.separated { text.append(0x0A) }
        }
        return text
    }

    public static func changed(_ path: String) -> UserError {
        UserError("\(path): its size changed while it was read (written to meanwhile?)")
    }

    /// The paths `pattern` matches, each a file to read.
    private static func expand(glob pattern: String) throws -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        switch glob(pattern, GLOB_ERR, nil, &matches) {
        case 0: break
        case GLOB_NOMATCH: throw UserError("\(pattern): no file matches this pattern")
        case GLOB_NOSPACE: throw UserError("\(pattern): out of memory expanding this pattern")
        default: throw UserError("\(pattern): a directory on the way could not be read")
        }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
    }

    /// The size and last byte of the regular file at `path` (opened without blocking, so a FIFO
    /// cannot stall us); anything else is refused by name.
    private static func examine(_ path: String) throws -> (size: Int, last: UInt8) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileIO.osError(path) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw UserError("\(path): is a directory; a directory of text files is read one level deep")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileIO.osError(path) }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else { throw FileIO.osError(path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileIO.notRegular(path, info.st_mode) }
        let size = Int(info.st_size)
        var last: UInt8 = 0
        guard size == 0 || pread(fd, &last, 1, off_t(size - 1)) == 1 else { throw FileIO.osError(path) }
        return (size, last)
    }
}
