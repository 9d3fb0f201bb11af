import Files
import Foundation
import Glibc

/// Counts a text a piece at a time within a memory budget, as KenLM's `lmplz -S` does: the counts
/// of the pieces are held in memory while they fit in half the budget, then merged into one
/// sorted run on disk (`RunFile`); `finish` merges the runs and what is still held into the
/// counts of the whole text, the very arrays that counting it at once gives.
///
/// Memory: half the budget for the held counts, half for counting one piece (`piecePositions`
/// allows for one new distinct n-gram of every order at every position), and one block per run
/// while merging. Not bounded: what `finish` returns, every distinct n-gram of the text, which
/// the Kneser–Ney estimate needs in memory.
public final class NGramCounter {
    public let order: Int
    public let vocabulary: NGramVocabulary
    /// Bytes, or nil: no limit (the text is one piece and nothing is spilled).
    public let memory: Int?
    /// The runs' directory. Created at the first spill, exclusively, inside its parent, which is
    /// created as a directory of ours (a link there is refused); removed with the runs by `finish`,
    /// and when the counter goes away (a failure), with the parent if that is then empty.
    public let spillDirectory: URL
    /// Runs written, the combining of runs (`maximumFanIn`) included.
    public private(set) var spilledRuns = 0
    private var held: [NGramCounts] = []
    private var heldBytes = 0
    private var runs: [RunFile] = []
    private var created = false

    /// Runs merged at once: once there are this many, they are merged into one before the next.
    static let maximumFanIn = 32

    public init(order: Int, vocabulary: NGramVocabulary, memory: Int?, spillDirectory: URL) throws {
        try NGramCounts.checkOrder(order)
        precondition(memory.map { $0 > 0 } ?? true, "a memory budget must be positive")
        self.order = order
        self.vocabulary = vocabulary
        self.memory = memory
        self.spillDirectory = spillDirectory
    }

    deinit { removeRuns() }

    /// At most, the bytes `NGramCounts(stream:startingAt:...)` takes per start position: the
    /// stream (with the `<s>` a sentence adds), the window lengths, the sorted positions and the
    /// sort's scratch, and a distinct n-gram of every order (4n + 8 bytes each).
    static func bytesPerPosition(order: Int) -> Int {
        5 + 1 + 8 + 8 + (1...order).reduce(0) { $0 + 4 * $1 + 8 }
    }

    /// How many start positions a piece may have so that counting it takes at most half the
    /// budget; `Int.max` without a budget.
    public var piecePositions: Int {
        guard let memory else { return .max }
        return max(1, memory / 2 / Self.bytesPerPosition(order: order))
    }

    /// Counts the n-grams that start at `stream[0..<owned]` (at most `piecePositions`), reading
    /// up to order − 1 tokens past them, as `NGramCounts(stream:startingAt:...)`; spills what is
    /// held once it exceeds half the budget.
    public func add(_ stream: [Int32], owned: Int) throws {
        let counts = try NGramCounts(stream: stream[...], startingAt: 0..<owned, order: order, vocabulary: vocabulary)
        heldBytes += counts.bytes
        held.append(counts)
        if let memory, heldBytes > memory / 2 { try spill() }
    }

    /// The counts of everything added, in the arrays counting it at once would give; the runs are
    /// removed.
    public func finish() throws -> NGramCounts {
        defer { removeRuns() }
        if runs.isEmpty, held.count == 1 { return held.removeLast() }
        var result = try NGramCounts(order: order, vocabulary: vocabulary)
        let blockBytes = self.blockBytes(runs.count)
        for n in 1...order {
            var sink = ArraySink()
            try mergeSorted(n, try runs.map { try $0.blocks(n, blockBytes: blockBytes) } + takeHeld(n), into: &sink)
            result.grams[n - 1] = sink.rows
            result.occurrences[n - 1] = sink.counts
        }
        held = []
        return result
    }

    /// Merges what is held into a new run; first, when there are `maximumFanIn` runs, merges
    /// those into one.
    private func spill() throws {
        if !created { try createDirectory() }
        if runs.count >= Self.maximumFanIn {
            let old = runs, blockBytes = self.blockBytes(old.count)
            let combined = try RunFile.write(to: nextRunPath(), order: order) { n in
                try old.map { try $0.blocks(n, blockBytes: blockBytes) }
            }
            for run in old { unlink(run.path) }
            runs = [combined]
        }
        runs.append(try RunFile.write(to: nextRunPath(), order: order) { n in self.takeHeld(n) })
        held = []
        heldBytes = 0
    }

    /// Order n's arrays of every held piece, moved out so that each is freed once merged.
    private func takeHeld(_ n: Int) -> [any CountBlocks] {
        held.indices.map { i in
            defer {
                held[i].grams[n - 1] = []
                held[i].occurrences[n - 1] = []
            }
            return WholeBlock(rows: held[i].grams[n - 1], counts: held[i].occurrences[n - 1])
        }
    }

    /// A run's read buffer when `k` are merged: an eighth of the budget between them, 4 KiB to 1 MiB.
    private func blockBytes(_ k: Int) -> Int {
        guard let memory else { return 1 << 20 }
        return min(1 << 20, max(4096, memory / 8 / max(1, k)))
    }

    private func nextRunPath() -> String {
        defer { spilledRuns += 1 }
        return spillDirectory.appendingPathComponent(String(format: "run-%06d.counts", spilledRuns)).path
    }

    private func createDirectory() throws {
        let parent = spillDirectory.deletingLastPathComponent()
        try FileIO.makeDirectories(parent.deletingLastPathComponent())
        try FileIO.makeOwnDirectory(parent)
        // A leftover of a process that had this name is ours to remove; then the name is ours alone.
        try FileIO.removeTree(spillDirectory)
        guard mkdir(spillDirectory.path, 0o700) == 0 else { throw FileIO.osError(spillDirectory.path) }
        created = true
    }

    private func removeRuns() {
        runs = []
        guard created else { return }
        try? FileIO.removeTree(spillDirectory)
        rmdir(spillDirectory.deletingLastPathComponent().path)
        created = false
    }
}

extension NGramCounts {
    /// The bytes of the arrays: 4n + 8 per n-gram of order n.
    public var bytes: Int {
        grams.reduce(0) { $0 + 4 * $1.count } + occurrences.reduce(0) { $0 + 8 * $1.count }
    }
}
