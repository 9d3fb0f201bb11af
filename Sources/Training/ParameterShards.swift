/// The sharded update's split of the flat parameter buffer between `parts` ranks: rank r owns a
/// contiguous run of whole norm blocks (`BlockNorm`), so it can sum its blocks' squares alone, and
/// its shard starts where the replicated update's vector loops would have a boundary too. With
/// one part the whole buffer is the shard: the replicated update.
struct ParameterShards {
    /// Floats in the buffer.
    let count: Int
    /// Rank r's norm blocks, in rank order, covering every block once.
    let blocks: [Range<Int>]
    /// Rank r's floats: its blocks' elements.
    let ranges: [Range<Int>]

    init(count: Int, parts: Int) {
        self.count = count
        let n = BlockNorm.blockCount(count)
        blocks = (0..<parts).map { r in (r * n / parts)..<((r + 1) * n / parts) }
        ranges = blocks.map { b in min(b.lowerBound * BlockNorm.size, count)..<min(b.upperBound * BlockNorm.size, count) }
    }

    /// The pieces of `range` that fall in each rank's shard, with that rank, in buffer order.
    func pieces(of range: Range<Int>) -> [(rank: Int, range: Range<Int>)] {
        ranges.indices.compactMap { r in
            let piece = range.clamped(to: ranges[r])
            return piece.isEmpty ? nil : (r, piece)
        }
    }
}
