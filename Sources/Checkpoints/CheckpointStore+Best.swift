import Files
import Foundation
import Glibc

/// `checkpoints/best`: a relative symbolic link to the checkpoint of the lowest validation loss,
/// so `eval`, `sample` and `export --checkpoint RUN/checkpoints/best` take it by one name. A
/// link rather than a copy: the checkpoint is written once; `prune` spares its target.
extension CheckpointStore {
    public static let bestName = "best"

    /// Points `best` at the checkpoint of `step`: a new link made under a temporary name and
    /// renamed over the old one, so `best` always names a whole checkpoint. Anything but a link
    /// at `best` (a directory, file, FIFO or device: not ours) is refused, not replaced.
    public func markBest(step: Int) throws {
        try requireBestReplaceable()
        let best = directory.appendingPathComponent(Self.bestName)
        let temporary = directory.appendingPathComponent(".tmp-best-\(getpid())")
        unlink(temporary.path)
        guard symlink(Self.name(step: step), temporary.path) == 0 else { throw FileIO.osError(temporary.path) }
        guard rename(temporary.path, best.path) == 0 else {
            let reason = errno
            unlink(temporary.path)
            throw FileIO.osError(best.path, reason)
        }
        try FileIO.syncDirectory(directory)
    }

    /// Nothing or a link at `best`: checked before a run trains, so a directory there stops it
    /// before any work rather than at its first new best.
    public func requireBestReplaceable() throws {
        let best = directory.appendingPathComponent(Self.bestName)
        var info = stat()
        if lstat(best.path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFLNK else {
                throw UserError("\(best.path): \(FileIO.kind(info.st_mode) ?? "a special file"), not the link to the best checkpoint rnntrain keeps there; remove it")
            }
        } else if errno != ENOENT {
            throw FileIO.osError(best.path)
        }
    }

    /// The step `best` points to; nil when there is no link or it names no checkpoint of ours.
    public func bestStep() -> Int? {
        var target = [CChar](repeating: 0, count: 64)
        let n = readlink(directory.appendingPathComponent(Self.bestName).path, &target, target.count - 1)
        guard n > 0 else { return nil }
        return Self.step(fromName: String(decoding: target[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
