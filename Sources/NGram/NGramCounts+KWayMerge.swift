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

    /// Copies the current n-gram's tokens to `head` (n of them).
    func copyHead(to head: UnsafeMutablePointer<Int32>) {
        rows.withUnsafeBufferPointer { head.update(from: $0.baseAddress! + index * n, count: n) }
    }
}

/// Merges sorted sources of n-grams of order n into `sink`, adding the occurrences of an n-gram
/// several sources hold: a binary heap of the sources by their current n-gram, so
/// O(total · log k · n) token comparisons for k sources; memory: one block per source. The
/// output is sorted and distinct, and does not depend on the order of the sources.
func mergeSorted<S: CountSink>(_ n: Int, _ sources: [any CountBlocks], into sink: inout S) throws {
    var cursors: [Cursor] = []
    for source in sources {
        let cursor = Cursor(n, source)
        if try cursor.start() { cursors.append(cursor) }
    }
    // The heap orders cursor indices by a copy of each cursor's current n-gram, `heads`
    // `[cursors × n]`, so that its comparisons touch one flat buffer.
    var heads = [Int32](repeating: 0, count: max(1, cursors.count) * n)
    var heap = Array(cursors.indices)
    var pending = [Int32](repeating: 0, count: n)
    var pendingCount: UInt64 = 0
    try heads.withUnsafeMutableBufferPointer { headBuffer in
        try heap.withUnsafeMutableBufferPointer { heapBuffer in
            try pending.withUnsafeMutableBufferPointer { pendingBuffer in
                let h = headBuffer.baseAddress!, p = pendingBuffer.baseAddress!
                var size = heapBuffer.count
                for c in 0..<size { cursors[c].copyHead(to: h + c * n) }
                for i in stride(from: size / 2 - 1, through: 0, by: -1) { siftDown(heapBuffer, size, h, n, i) }
                while size > 0 {
                    let c = heapBuffer[0], cursor = cursors[c], head = h + c * n
                    let count = cursor.counts[cursor.index]
                    if pendingCount > 0, (0..<n).allSatisfy({ p[$0] == head[$0] }) {
                        pendingCount += count
                    } else {
                        if pendingCount > 0 { try sink.append(UnsafeBufferPointer(pendingBuffer), pendingCount) }
                        p.update(from: head, count: n)
                        pendingCount = count
                    }
                    if try cursor.advance() {
                        cursor.copyHead(to: head)
                    } else {
                        size -= 1
                        heapBuffer[0] = heapBuffer[size]
                    }
                    siftDown(heapBuffer, size, h, n, 0)
                }
                if pendingCount > 0 { try sink.append(UnsafeBufferPointer(pendingBuffer), pendingCount) }
            }
        }
    }
}

/// Restores the heap property of `heap[0..<size]` below position `start`, ordered by each
/// index's n-gram in `heads`.
private func siftDown(_ heap: UnsafeMutableBufferPointer<Int>, _ size: Int, _ heads: UnsafePointer<Int32>, _ n: Int,
                      _ start: Int) {
    func less(_ a: Int, _ b: Int) -> Bool {
        let x = heads + heap[a] * n, y = heads + heap[b] * n
        for k in 0..<n where x[k] != y[k] { return x[k] < y[k] }
        return false
    }
    var i = start
    while true {
        let left = 2 * i + 1, right = left + 1
        var smallest = i
        if left < size, less(left, smallest) { smallest = left }
        if right < size, less(right, smallest) { smallest = right }
        if smallest == i { return }
        heap.swapAt(i, smallest)
        i = smallest
    }
}
