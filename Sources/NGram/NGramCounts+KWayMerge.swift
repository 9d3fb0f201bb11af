import Files

/// A sorted sequence of distinct n-grams of one order with their occurrences, handed out a block
/// at a time: one block for counts in memory, many for a run on disk (`RunFile.Blocks`).
protocol CountBlocks {
    /// Replaces `rows` `[k × n]` and `counts` `[k]` by the next block (k ≥ 1); false at the end.
    mutating func next(rows: inout [Int32], counts: inout [UInt64]) throws -> Bool
}

/// Where a merge puts its output, one n-gram at a time, in order.
protocol CountSink {
    mutating func append(_ row: UnsafeBufferPointer<Int32>, _ count: UInt64) throws
}

/// Counts in memory, one block: the arrays of one order of an `NGramCounts`.
struct WholeBlock: CountBlocks {
    var rows: [Int32]
    var counts: [UInt64]

    mutating func next(rows: inout [Int32], counts: inout [UInt64]) throws -> Bool {
        guard !self.counts.isEmpty else { return false }
        // Handed over, not copied: this block holds no reference afterwards.
        swap(&rows, &self.rows)
        swap(&counts, &self.counts)
        self.rows = []
        self.counts = []
        return true
    }
}

/// The arrays of one order of the merged counts.
struct ArraySink: CountSink {
    var rows: [Int32] = []
    var counts: [UInt64] = []

    mutating func append(_ row: UnsafeBufferPointer<Int32>, _ count: UInt64) {
        rows.append(contentsOf: row)
        counts.append(count)
    }
}

/// Where one source of a merge stands: its current block and the n-gram read next.
private final class Cursor {
    let n: Int
    var rows: [Int32] = []
    var counts: [UInt64] = []
    var index = 0
    var blocks: any CountBlocks

    init(_ n: Int, _ blocks: any CountBlocks) {
        self.n = n
        self.blocks = blocks
    }

    /// Loads the first block; false when there is none.
    func start() throws -> Bool { try blocks.next(rows: &rows, counts: &counts) }

    /// Moves to the next n-gram, loading the next block at the end of one; false at the end.
    func advance() throws -> Bool {
        index += 1
        if index < counts.count { return true }
        index = 0
        return try blocks.next(rows: &rows, counts: &counts)
    }

    /// −1, 0 or 1 as the current n-gram is before, equal to or after `other`'s.
    func compare(_ other: Cursor) -> Int {
        let a = index * n, b = other.index * n
        for k in 0..<n where rows[a + k] != other.rows[b + k] {
            return rows[a + k] < other.rows[b + k] ? -1 : 1
        }
        return 0
    }
}

/// Merges sorted sources of n-grams of order n into `sink`, adding the occurrences of an n-gram
/// several sources hold: a binary heap of the sources by their current n-gram, so
/// O(total · log k · n) token comparisons for k sources; memory: one block per source. The
/// output is sorted and distinct, and does not depend on the order of the sources.
func mergeSorted<S: CountSink>(_ n: Int, _ sources: [any CountBlocks], into sink: inout S) throws {
    var heap: [Cursor] = []
    for source in sources {
        let cursor = Cursor(n, source)
        if try cursor.start() { heap.append(cursor) }
    }
    func less(_ i: Int, _ j: Int) -> Bool { heap[i].compare(heap[j]) < 0 }
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count, less(left, smallest) { smallest = left }
            if right < heap.count, less(right, smallest) { smallest = right }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
    for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }

    var pending = [Int32](repeating: 0, count: n)
    var pendingCount: UInt64 = 0
    while let top = heap.first {
        let start = top.index * n
        let same = pendingCount > 0 && (0..<n).allSatisfy { pending[$0] == top.rows[start + $0] }
        if same {
            pendingCount += top.counts[top.index]
        } else {
            if pendingCount > 0 { try pending.withUnsafeBufferPointer { try sink.append($0, pendingCount) } }
            for k in 0..<n { pending[k] = top.rows[start + k] }
            pendingCount = top.counts[top.index]
        }
        if try !top.advance() {
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
        }
        siftDown(0)
    }
    if pendingCount > 0 { try pending.withUnsafeBufferPointer { try sink.append($0, pendingCount) } }
}
