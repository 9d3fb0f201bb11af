import Kernels

/// Σ x² of a flat Float buffer, the same bits however the buffer is split between ranks: the
/// buffer is cut into fixed blocks of `size` floats (the last one shorter), each block's sum is
/// taken alone in Double (`Float.sumOfSquares`), and the block sums are added in block order.
/// A rank holding some blocks computes theirs; the rest of the sums come from the other ranks.
enum BlockNorm {
    /// Floats per block: a multiple of every vector width, so a block boundary never splits the
    /// kernels' vector loops differently from one split to the next.
    static let size = 4096

    static func blockCount(_ count: Int) -> Int { (count + size - 1) / size }

    /// Float indices of block `b` of a buffer of `count` floats.
    static func elements(of b: Int, count: Int) -> Range<Int> { (b * size)..<min((b + 1) * size, count) }

    /// `sums[b]` ← Σ x² over block b of `x` (`count` floats), for each b in `blocks`.
    static func sumBlocks(_ x: UnsafePointer<Float>, count: Int, blocks: Range<Int>, into sums: UnsafeMutablePointer<Double>) {
        for b in blocks {
            let r = elements(of: b, count: count)
            sums[b] = Float.sumOfSquares(count: r.count, x: x + r.lowerBound)
        }
    }

    /// The block sums added in block order.
    static func combine(_ sums: UnsafeBufferPointer<Double>) -> Double {
        var total = 0.0
        for s in sums { total += s }
        return total
    }
}
