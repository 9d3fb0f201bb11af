import Collectives
import Kernels

/// The end of a step's sum: waits for the gradient's sums, takes the norm's block sums
/// (`BlockNorm`) of each block as soon as all of it has landed, so the norm is ready with the
/// last sum, and sums the step's counters (`StepCounters`), all in one collective after the
/// gradient.
///
/// Replicated, every rank has the whole summed gradient and takes every block itself; the
/// counters' sum travels with the gradient's. Sharded, each rank takes its own blocks, and their
/// sums travel in the counters' sum as the bit patterns of their Doubles: each block's slot has
/// one nonzero term (its owner's), so the Int64 sum delivers the bits unchanged.
final class ClosingSum {
    private let comm: Communicator
    private let gradients: Buffer<Float>
    private let sharded: Bool
    /// The norm blocks this rank sums: all of them, or its shard's.
    private let blocks: Range<Int>
    /// The counters, then (sharded) one slot per norm block.
    private let slots: Buffer<Int64>
    private let blockSums: Buffer<Double>
    /// Floats of each of `blocks` not yet landed this step.
    private var waiting: [Int]

    var counters: StepCounters { StepCounters(base: slots.base) }

    init(gradients: Buffer<Float>, comm: Communicator, shards: ParameterShards?) {
        self.comm = comm
        self.gradients = gradients
        sharded = shards != nil
        let n = BlockNorm.blockCount(gradients.count)
        blocks = shards?.blocks[comm.rank] ?? 0..<n
        blockSums = Buffer(count: n)
        slots = Buffer(count: StepCounters.count + (sharded ? n : 0))
        waiting = []
    }

    /// Waits for `sums`; `land` makes each range that lands on this rank the summed gradient
    /// there (decoding it, when it travelled in another form) before its blocks are summed.
    /// Returns the step's totals with Σ g².
    func finish(_ sums: SumsInFlight, land: (Range<Int>) -> Void) throws -> StepTotals {
        waiting = blocks.map { BlockNorm.elements(of: $0, count: gradients.count).count }
        let took = { (range: Range<Int>) in
            land(range)
            self.sumBlocks(finishedBy: range)
        }
        if sharded {
            try sums.wait(landed: took)
            let bits = slots.base + StepCounters.count
            bits.update(repeating: 0, count: blockSums.count)
            for b in blocks { bits[b] = Int64(bitPattern: blockSums[b].bitPattern) }
            try comm.allreduceSum(UnsafeMutableBufferPointer(start: slots.base, count: slots.count))
            for b in 0..<blockSums.count { blockSums[b] = Double(bitPattern: UInt64(bitPattern: bits[b])) }
        } else {
            try sums.wait(also: try comm.startAllreduceSum(counters.buffer), landed: took)
        }
        precondition(waiting.allSatisfy { $0 == 0 }, "a norm block of this rank was never summed")
        var totals = counters.totals()
        totals.sumOfSquares = BlockNorm.combine(UnsafeBufferPointer(start: blockSums.base, count: blockSums.count))
        return totals
    }

    /// Sums each of this rank's blocks that `range` completes.
    private func sumBlocks(finishedBy range: Range<Int>) {
        guard !range.isEmpty else { return }
        let first = max(range.lowerBound / BlockNorm.size, blocks.lowerBound)
        let last = min((range.upperBound - 1) / BlockNorm.size + 1, blocks.upperBound)
        for b in first..<max(first, last) {
            let elements = BlockNorm.elements(of: b, count: gradients.count)
            waiting[b - blocks.lowerBound] -= elements.clamped(to: range).count
            if waiting[b - blocks.lowerBound] == 0 {
                BlockNorm.sumBlocks(gradients.base, count: gradients.count, blocks: b..<b + 1, into: blockSums.base)
            }
        }
    }
}
