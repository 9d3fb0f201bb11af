import CRename
import Collectives
import Config
import Files
import Foundation
import Glibc
import PreparedData
import TextData
import Training

/// A text `data.path` is prepared once into the run directory, `RUN/data` (a `PreparedDataset`),
/// and trained from mapped, so that neither a rank's memory nor the start-up grows with the corpus.
///
/// `RUN/data/source.json` records what the dataset was prepared from: the data keys that decide
/// the tokens and each text file's identity (size, modification time in ns, inode, device), a
/// check of a few `stat` calls rather than a hash of the text. A start whose record is the same
/// reuses the dataset. Otherwise the text is prepared again into `RUN/.data-next` and swapped in
/// only once complete, so `RUN/data` is at every moment a whole dataset; the new tokens then meet
/// the data digest check of a resume, as a changed text always did. The old dataset waits at
/// `.data-next` until the start-up has passed every check (`keep`): a start refused swaps it
/// back (`undo`), so a refused resume leaves the run directory as it was.
///
/// Only rank 0 prepares, holding the run lock; the others wait in the collective that follows.
/// Every rank then maps its own `RUN/data` when it is the dataset rank 0 prepared (the same
/// header); a rank that cannot see it (a run directory local to rank 0's host: only rank 0 reads
/// and writes the run directory) reads the text into its memory as before, with one warning line.
enum RunDataset {
    static let name = "data"
    static let recordName = "source.json"
    /// Where a new preparation is built before it replaces `data`.
    static let nextName = ".data-next"

    enum Outcome {
        case reused
        /// `replaced`: an older dataset was there (now at `.data-next`); false: `RUN/data` was made here.
        case prepared(DatasetPreparation.Summary, replaced: Bool)
    }

    /// On rank 0, holding the run lock: reuses `RUN/data` when its record is that of `data`'s
    /// text now, else prepares the text and puts it there. A link, FIFO, device or file at
    /// `RUN/data`, or a directory without a record (not ours), is refused; so is a bad text,
    /// leaving nothing behind.
    static func ensure(data: DataConfig, runDirectory: URL) throws -> Outcome {
        let url = runDirectory.appendingPathComponent(name)
        let existing = try storedRecord(url)
        let current = record(data)
        if let existing, existing == current { return .reused }
        if existing != nil {
            // The dataset will be removed: only plain files of ours are, never a link or special
            // file someone put there.
            for entry in try FileIO.names(in: url) { try FileIO.requireReplaceable(url.appendingPathComponent(entry).path) }
        }
        let next = runDirectory.appendingPathComponent(nextName)
        try removeLeftovers(in: runDirectory)
        let summary: DatasetPreparation.Summary
        do {
            summary = try DatasetPreparation.prepare(data: data, withMask: data.task == .fillInTheMiddle, out: next,
                                                     stopped: { StopSignals.stop })
            // A record taken before the text was read: a text changed meanwhile is prepared again next time.
            if let current { try FileIO.writeSynced(current, to: next.appendingPathComponent(recordName)) }
            try FileIO.syncDirectory(next)
            if existing == nil {
                guard rename(next.path, url.path) == 0 else { throw FileIO.osError(url.path) }
            } else {
                try swap(next, url)
            }
            try FileIO.syncDirectory(runDirectory)
        } catch let error as UserError {
            try? FileIO.removeTree(next)
            // Name the dataset the user sees, not the temporary directory that is gone now.
            throw UserError(error.description.replacingOccurrences(of: next.path, with: url.path))
        } catch {
            try? FileIO.removeTree(next)
            throw error
        }
        return .prepared(summary, replaced: existing != nil)
    }

    /// Bytes of `data`'s text files, training and validation; 0 for a path that cannot be listed
    /// (rank 0's preparation then fails at once and says why).
    static func textBytes(_ data: DataConfig) -> Int {
        [data.path, data.valPath].filter { !$0.isEmpty }.reduce(0) { $0 + ((try? TextFiles.list($1).size) ?? 0) }
    }

    /// After a start-up that passed: the dataset replaced is removed. A failure here costs only
    /// disk until the next start removes the leftover, so it does not stop the run.
    static func keep(_ outcome: Outcome, runDirectory: URL) {
        if case .prepared(_, replaced: true) = outcome { try? FileIO.removeTree(runDirectory.appendingPathComponent(nextName)) }
    }

    /// After a start-up that failed: the run directory as it was, the old dataset back or none.
    static func undo(_ outcome: Outcome, runDirectory: URL) throws {
        guard case let .prepared(_, replaced) = outcome else { return }
        let url = runDirectory.appendingPathComponent(name), next = runDirectory.appendingPathComponent(nextName)
        if replaced { try swap(next, url) }
        try FileIO.removeTree(replaced ? next : url)
    }

    /// What `RUN/data/source.json` holds for `data` now; nil when a text cannot be examined
    /// (preparing it then says why).
    static func record(_ data: DataConfig) -> [UInt8]? {
        var files: [JSON] = []
        for path in [data.path, data.valPath] where !path.isEmpty {
            // A directory or glob counts by the files it lists now (TextFiles: the same list
            // prepare joins); a link, by the file it names.
            guard let listed = try? TextFiles.list(path) else { return nil }
            for file in listed.files {
                var info = stat()
                guard stat(file.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
                let mtime = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
                files.append(.object([("path", .string(file.path)), ("size", .number(Int(info.st_size))), ("mtime_ns", .number(mtime)),
                                      ("inode", .number(String(info.st_ino))), ("device", .number(String(info.st_dev)))]))
            }
        }
        let fields: [(String, JSON)] = [
            ("token_format", .number(Int(TokenFileHeader.version))),
            ("path", .string(data.path)), ("val_path", .string(data.valPath)), ("val_fraction", .number(data.valFraction)),
            ("tokenizer", .string(data.tokenizer.rawValue)), ("min_count", .number(data.minCount)),
            ("task", .string(data.task.rawValue)), ("files", .array(files)),
        ]
        return Array((JSON.object(fields).text(.spaced) + "\n").utf8)
    }

    /// The record of the dataset at `url`; nil when nothing is there.
    private static func storedRecord(_ url: URL) throws -> [UInt8]? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            guard errno == ENOENT else { throw FileIO.osError(url.path) }
            return nil
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            let kinds: [mode_t: String] = [S_IFREG: "a file", S_IFLNK: "a symbolic link", S_IFIFO: "a FIFO",
                                           S_IFCHR: "a character device", S_IFBLK: "a block device", S_IFSOCK: "a socket"]
            throw UserError("\(url.path): \(kinds[info.st_mode & S_IFMT] ?? "not a directory"), where the run keeps its prepared dataset; not replaced (remove it)")
        }
        let recordURL = url.appendingPathComponent(recordName)
        guard lstat(recordURL.path, &info) == 0 || errno != ENOENT else {
            throw UserError("\(url.path): a directory that has no \(recordName), so not a dataset this run prepared; not replaced (remove it)")
        }
        return try FileIO.read(recordURL, limit: 1 << 20, followingLinks: false)
    }

    /// A preparation a killed run left: `.data-next`, or the temporary directory `prepare` builds it in.
    private static func removeLeftovers(in runDirectory: URL) throws {
        for entry in try FileIO.names(in: runDirectory) where entry == nextName || entry.hasPrefix(".tmp-\(nextName)-") {
            try FileIO.removeTree(runDirectory.appendingPathComponent(entry))
        }
    }

    /// Exchanges the datasets at `next` and `url`: in one step, or, on a file system without the
    /// exchange, by three renames (a crash between the first two leaves no `RUN/data`, which the
    /// next start prepares again).
    private static func swap(_ next: URL, _ url: URL) throws {
        if rk_rename_exchange(next.path, url.path) == 0 { return }
        guard errno == EINVAL || errno == ENOSYS else { throw FileIO.osError(url.path) }
        let aside = url.deletingLastPathComponent().appendingPathComponent(".tmp-\(nextName)-old")
        try FileIO.removeTree(aside)
        guard rename(url.path, aside.path) == 0 else { throw FileIO.osError(url.path) }
        guard rename(next.path, url.path) == 0 else { throw FileIO.osError(url.path) }
        guard rename(aside.path, next.path) == 0 else { throw FileIO.osError(next.path) }
    }

    /// Collective: this rank's mapped `RUN/data` when it is the dataset rank 0 has, else nil
    /// and why not. Rank 0 failing to open its own dataset fails every rank.
    static func open(data: DataConfig, runDirectory: URL, comm: Communicator) throws -> (corpus: Corpus?, why: String) {
        let path = runDirectory.appendingPathComponent(name).path
        var why = ""
        let corpus: Corpus? = try agree(comm) {
            do {
                guard comm.isRoot || PreparedDataset.isDataset(path) else { throw UserError("\(path): no such directory") }
                return try PreparedDataset.open(path, data: data)
            } catch {
                if comm.isRoot {
                    throw UserError("\(UserError.describing(error)) (\(path) is this run's preparation of \(data.path): remove it to prepare it again)")
                }
                why = UserError.describing(error)
                return nil
            }
        }
        let header = corpus.flatMap { corpus in (corpus.train as? MappedTokens).map { $0.header.encoded() + (corpus.digest ?? []) } } ?? []
        let root = try Sharing.broadcast(header, comm: comm)
        if let corpus, header == root { return (corpus, "") }
        return (nil, corpus == nil ? why : "\(path) is another dataset than rank 0's")
    }

    /// The text read into this rank's memory, for a rank that cannot map the run's dataset (`why`).
    static func readText(_ data: DataConfig, why: String, rank: Int) throws -> Corpus {
        StandardError.line("rnntrain: warning: rank \(rank): \(why); reading \(data.path) into this rank's memory instead")
        try MemoryBudget.checkText(config: data, machine: MemoryBudget.machine())
        return try Corpus.load(path: data.path, valPath: data.valPath, valFraction: data.valFraction, tokenizer: data.tokenizer,
                               minCount: data.minCount, withMask: data.task == .fillInTheMiddle)
    }

    /// The line that says what `ensure` prepared; nil when it reused the dataset.
    static func describe(_ outcome: Outcome, data: DataConfig, runDirectory: URL) -> String? {
        let url = runDirectory.appendingPathComponent(name).path
        switch outcome {
        case .reused:
            return nil
        case let .prepared(s, replaced):
            let megabytes = Double(s.textBytes) / 1e6
            let why = replaced ? "\(data.path), the data settings or the token format changed since \(url) was prepared; prepared again" : "prepared \(data.path) into \(url)"
            return "data: \(why): \(s.trainTokens) training and \(s.validationTokens) validation tokens of \(s.vocabularySize), "
                + String(format: "%d byte%@ each, %.1f MB of text in %.2f s", s.width, s.width == 1 ? "" : "s", megabytes, s.seconds)
        }
    }
}
