import Config
import Files
import Foundation
import Glibc

/// A run's checkpoints/ directory. A checkpoint is a directory "step-%08d" holding files and a
/// manifest "SHA256SUMS" in `sha256sum` format ("<hex>  <name>\n", one per file, sorted), so
/// `sha256sum -c SHA256SUMS` verifies it by hand.
///
/// Crash safety comes from the directory rename: a checkpoint is built complete under a temporary
/// name, then renamed into place, so "step-…" never names a half-written checkpoint; the manifest
/// catches what the rename cannot (bit rot, truncation by a full disk, hand edits). Temporary names
/// start with ".tmp-" and end with the writer's pid, so `prune` can tell leftovers of dead writers.
///
/// One process writes (rank 0); `write` and `prune` on the same directory are not run concurrently.
public struct CheckpointStore: Sendable {
    public let directory: URL
    public static let manifestName = "SHA256SUMS"

    public init(directory: URL) { self.directory = directory }

    /// "step-%08d".
    public static func name(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The step of a canonical checkpoint name, nil for anything else ("step-1", "step-00000001.bak").
    static func step(fromName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        let digits = name.dropFirst(5)
        guard digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let step = Int(digits),
              Self.name(step: step) == name else { return nil }
        return step
    }

    /// Writes a checkpoint atomically: every file and the manifest into a temporary sibling
    /// directory ".tmp-step-%08d-<pid>", fsync each file and the directory, rename to "step-%08d"
    /// (replacing an existing one of that step only after the new one is complete), fsync
    /// `directory`. On any failure, removes the temporary directory and throws UserError naming the
    /// path and the OS reason, leaving every existing checkpoint untouched.
    @discardableResult
    public func write(step: Int, files: [String: [UInt8]]) throws -> URL {
        precondition(step >= 0, "checkpoint step must be non-negative")
        for name in files.keys {
            // The manifest format has no room for these (sha256sum escapes them), and a "/" would
            // escape the checkpoint directory.
            guard !name.isEmpty, name != "." , name != "..", name != Self.manifestName, !name.hasPrefix("."),
                  !name.contains(where: { $0 == "/" || $0 == "\\" || $0.isNewline }) else {
                throw UserError("checkpoint file name \(JSON.quotedShort(name)) is not allowed")
            }
        }
        try FileIO.makeDirectories(directory.deletingLastPathComponent())
        try FileIO.makeOwnDirectory(directory)
        let name = Self.name(step: step)
        let final = directory.appendingPathComponent(name, isDirectory: true)
        let temporary = directory.appendingPathComponent(".tmp-\(name)-\(getpid())")
        // A directory of this name is a leftover of a dead process that had our pid (our own failed
        // writes remove theirs), common in containers where pids repeat; it is stale.
        try FileIO.removeTree(temporary)
        guard mkdir(temporary.path, 0o755) == 0 else { throw FileIO.osError(temporary.path) }
        do {
            for (fileName, bytes) in files {
                try FileIO.writeSynced(bytes, to: temporary.appendingPathComponent(fileName))
            }
            try FileIO.writeSynced(Self.manifest(of: files), to: temporary.appendingPathComponent(Self.manifestName))
            try FileIO.syncDirectory(temporary)
            try install(temporary, at: final)
        } catch let error as UserError {
            try? FileIO.removeTree(temporary)
            // The files were written under the temporary name, which the user never sees and
            // which is gone now: name the checkpoint the write was for.
            throw UserError(error.description.replacingOccurrences(of: temporary.path, with: final.path))
        } catch {
            try? FileIO.removeTree(temporary)
            throw error
        }
        try FileIO.syncDirectory(directory)
        return final
    }

    /// Renames the complete `temporary` checkpoint to `final`. An existing checkpoint of the same
    /// step is moved aside first (rename cannot replace a non-empty directory, and glibc's
    /// renameat2 exchange is not visible to Swift), so at no moment is a half-written one visible
    /// under "step-…"; if we die between the two renames, the old one survives as a ".tmp-" name.
    private func install(_ temporary: URL, at final: URL) throws {
        if rename(temporary.path, final.path) == 0 { return }
        let reason = errno
        guard reason == ENOTEMPTY || reason == EEXIST, FileIO.isDirectory(final) else {
            throw FileIO.osError(final.path, reason)
        }
        let aside = directory.appendingPathComponent(".tmp-replaced-\(final.lastPathComponent)-\(getpid())")
        try FileIO.removeTree(aside)
        guard rename(final.path, aside.path) == 0 else { throw FileIO.osError(final.path) }
        guard rename(temporary.path, final.path) == 0 else {
            let reason = errno
            rename(aside.path, final.path)  // put the old one back
            throw FileIO.osError(final.path, reason)
        }
        // The new checkpoint is in place; a leftover old copy is only clutter that prune removes.
        try? FileIO.removeTree(aside)
    }

    /// Checkpoint directories by step, oldest first (temporary and foreign names, and files,
    /// ignored). Links are listed, for `read` to refuse by name rather than skip in silence. No
    /// checkpoints/ directory is an empty list; any
    /// other failure to read it (no permission, not a directory, a link) throws, because taking
    /// it for "no checkpoint" would start afresh and overwrite the checkpoints it holds.
    public func list() throws -> [(step: Int, url: URL)] {
        var info = stat()
        guard lstat(directory.path, &info) == 0 else {
            if errno == ENOENT { return [] }
            throw FileIO.osError(directory.path)
        }
        guard (info.st_mode & S_IFMT) != S_IFLNK else { throw FileIO.linkRefused(directory.path) }
        var found: [(step: Int, url: URL)] = []
        for name in try FileIO.names(in: directory) {
            guard let step = Self.step(fromName: name) else { continue }
            let url = directory.appendingPathComponent(name, isDirectory: true)
            guard lstat(url.path, &info) == 0, [S_IFDIR, S_IFLNK].contains(info.st_mode & S_IFMT) else { continue }
            found.append((step, url))
        }
        return found.sorted { $0.step < $1.step }
    }

    /// Largest manifest read: 256 lines of the longest entry. Ours has 3 lines of about 90 bytes.
    public static let maximumManifestEntries = 256
    public static let maximumManifestBytes = maximumManifestEntries * (66 + maximumFileNameBytes + 1)
    /// NAME_MAX: no file system holds a longer name.
    static let maximumFileNameBytes = 255
    /// The `SHA256SUMS` of `files` (name → bytes): "<hex>  <name>\n" per file, sorted by name's bytes.
    public static func manifest(of files: [String: [UInt8]]) -> [UInt8] {
        manifest(digests: files.mapValues(SHA256.hash))
    }

    /// The `SHA256SUMS` of files by their digests (name → 32 bytes).
    public static func manifest(digests: [String: [UInt8]]) -> [UInt8] {
        var manifest = ""
        for name in digests.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            manifest += SHA256.hex(digests[name]!) + "  " + name + "\n"
        }
        return Array(manifest.utf8)
    }

    /// Largest checkpoint file read: this machine's physical memory. A larger file cannot be
    /// loaded anyway, and its size (a sparse or hostile file can claim any) is refused before any
    /// allocation.
    public static let maximumFileBytes = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// Verifies a checkpoint directory: manifest present and well-formed, every listed file present
    /// with the listed hash, no file missing from the manifest (except the manifest). Returns the
    /// files' bytes by name. Errors name the file: "<checkpoint>/model.safetensors: checksum mismatch".
    /// A checkpoint may come from someone else: its files are read without following links (a
    /// `config.yaml -> /etc/shadow` with a matching manifest would otherwise be read and quoted),
    /// and so is the checkpoint itself when it is `inRun`, one of a run directory's.
    public static func read(_ checkpoint: URL, inRun: Bool = false) throws -> [String: [UInt8]] {
        let path = checkpoint.path
        var info = stat()
        if inRun, lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK { throw FileIO.linkRefused(path) }
        let present: Set<String>
        do { present = Set(try FileIO.names(in: checkpoint)) } catch {
            throw UserError("\(path): missing or not a readable directory")
        }
        let manifestURL = checkpoint.appendingPathComponent(manifestName)
        guard present.contains(manifestName) else { throw UserError("\(manifestURL.path): missing") }
        let listed = try parseManifest(try FileIO.read(manifestURL, limit: maximumManifestBytes, followingLinks: false),
                                       source: manifestURL.path)

        for name in present.sorted() where name != manifestName && listed[name] == nil {
            throw UserError("\(path)/\(TrainingConfig.shown(name)): not listed in \(manifestName)")
        }
        var files: [String: [UInt8]] = [:]
        for (name, expected) in listed.sorted(by: { $0.key < $1.key }) {
            let url = checkpoint.appendingPathComponent(name)
            guard present.contains(name) else { throw UserError("\(url.path): missing") }
            let bytes = try FileIO.read(url, limit: maximumFileBytes, followingLinks: false)
            let actual = SHA256.hash(bytes)
            guard actual == expected else {
                throw UserError("\(url.path): checksum mismatch (\(manifestName) lists \(SHA256.hex(expected).prefix(12))…, "
                                + "the \(bytes.count)-byte file hashes to \(SHA256.hex(actual).prefix(12))…)")
            }
            files[name] = bytes
        }
        return files
    }

    /// Parses "<64 hex>  <name>" lines (also "<64 hex> *<name>", sha256sum's binary mode); the last
    /// newline may be missing. Names must be plain file names (UTF-8, no "/" or control
    /// characters, at most 255 bytes), each listed once; at most `maximumManifestEntries` lines.
    public static func parseManifest(_ bytes: [UInt8], source: String) throws -> [String: [UInt8]] {
        guard bytes.count <= maximumManifestBytes else {
            throw UserError("\(source): \(bytes.count) bytes, more than the \(maximumManifestBytes) a manifest may have")
        }
        var entries: [String: [UInt8]] = [:]
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count <= maximumManifestEntries else {
            throw UserError("\(source): \(lines.count) lines, more than the \(maximumManifestEntries) a manifest may have")
        }
        for (index, line) in lines.enumerated() {
            let malformed = UserError("\(source): malformed line \(index + 1) (expected \"<64 hex digits>  <file name>\")")
            let line = Array(line)
            guard line.count > 66, line.count <= 66 + maximumFileNameBytes, line[64] == UInt8(ascii: " "),
                  line[65] == UInt8(ascii: " ") || line[65] == UInt8(ascii: "*") else { throw malformed }
            guard let digest = Hex.decode(line[..<64]) else { throw malformed }
            guard let name = String(validating: line[66...], as: UTF8.self), name != manifestName,
                  name != ".", name != "..", !name.contains("/"),
                  !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { throw malformed }
            guard entries.updateValue(digest, forKey: name) == nil else {
                throw UserError("\(source): line \(index + 1) lists \(JSON.quotedShort(name)) a second time")
            }
        }
        return entries
    }

    /// What `--resume auto` finds: the newest checkpoint that verifies (nil when none does) and,
    /// newest first, why each newer one was rejected; every one when none verifies.
    public struct Search {
        public var newest: (step: Int, url: URL, files: [String: [UInt8]])?
        public var skipped: [String]
    }

    /// Verifies checkpoints from the newest down and stops at the first that passes; throws when
    /// the directory cannot be listed.
    public func newestValid() throws -> Search {
        var skipped: [String] = []
        for (step, url) in try list().reversed() {
            do {
                return Search(newest: (step, url, try Self.read(url, inRun: true)), skipped: skipped)
            } catch {
                skipped.append((error as? UserError)?.description ?? "\(url.path): \(error)")
            }
        }
        return Search(newest: nil, skipped: skipped)
    }

    /// Deletes valid checkpoints beyond the newest `keep` valid ones, and stale temporary
    /// directories of dead writers. Never deletes the newest valid checkpoint (keep < 1 counts as
    /// 1); an invalid checkpoint is never counted as kept and never deleted: it may be evidence.
    /// Verifying reads every checkpoint in full; with pruning after each write that is `keep + 1`.
    /// The target of `best` is never deleted.
    public func prune(keep: Int) throws {
        for name in try FileIO.names(in: directory) where name.hasPrefix(".tmp-") && Self.writerIsGone(temporaryName: name) {
            try FileIO.removeTree(directory.appendingPathComponent(name))
        }
        let best = bestStep()
        var kept = 0
        for (step, url) in try list().reversed() {
            guard (try? Self.read(url, inRun: true)) != nil else { continue }
            kept += 1
            if kept <= max(keep, 1) || step == best { continue }
            // Rename first: a crash halfway through the deletion then leaves a ".tmp-" leftover for
            // the next prune, not a damaged "step-…" that looks like evidence of corruption.
            let doomed = directory.appendingPathComponent(".tmp-deleting-\(url.lastPathComponent)-\(getpid())")
            guard rename(url.path, doomed.path) == 0 else { throw FileIO.osError(url.path) }
            try FileIO.removeTree(doomed)
        }
    }

    /// True when the pid at the end of a ".tmp-…-<pid>" name is this process (which is not writing
    /// while it prunes) or names no live process. Names without a pid are not ours: left alone.
    static func writerIsGone(temporaryName name: String) -> Bool {
        let digits = name.reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, name.dropLast(digits.count).hasSuffix("-") else { return false }
        guard let pid = Int32(String(digits.reversed())), pid > 0 else { return true }
        if pid == getpid() { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
