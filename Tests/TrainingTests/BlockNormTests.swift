@testable import Training
import Kernels
import XCTest

/// The sharded update's norm and split: Σ x² from fixed blocks is the same bits whichever ranks
/// hold the blocks, and agrees with a plain Double sum; shards are whole blocks covering the
/// buffer once, and a range's pieces go to the ranks that own them.
final class BlockNormTests: XCTestCase {
    /// Values spread over many magnitudes, so the order of additions changes the rounding.
    private func values(_ count: Int) -> Buffer<Float> {
        var rng = SplitMix64(seed: 23)
        let x = Buffer<Float>(count: count)
        for i in 0..<count {
            let u = Float(rng.next() >> 40) / Float(1 << 24)
            x[i] = (u - 0.5) * [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000][Int(rng.next() % 7)]
        }
        return x
    }

    /// Σ x² of every shard's blocks, each shard summing into zeros, added as the ranks' sums are.
    private func shardedSum(_ x: Buffer<Float>, parts: Int) -> Double {
        let shards = ParameterShards(count: x.count, parts: parts)
        let total = Buffer<Double>(count: BlockNorm.blockCount(x.count))
        for blocks in shards.blocks {
            let mine = Buffer<Double>(count: total.count)
            BlockNorm.sumBlocks(x.base, count: x.count, blocks: blocks, into: mine.base)
            for b in 0..<total.count { total[b] += mine[b] }
        }
        return BlockNorm.combine(UnsafeBufferPointer(start: total.base, count: total.count))
    }

    func testTheBlockSumAgreesWithADoubleReferenceAndIsTheSameBitsForEverySplit() {
        for count in [1, 4095, 4096, 4097, 3 * 4096 + 17, 10 * 4096] {
            let x = values(count)
            var reference = 0.0
            for i in 0..<count { reference += Double(x[i]) * Double(x[i]) }
            let one = shardedSum(x, parts: 1)
            XCTAssertEqual(one, reference, accuracy: reference * 1e-14, "\(count) floats")
            for parts in [2, 3, 4, 7] {
                XCTAssertEqual(shardedSum(x, parts: parts).bitPattern, one.bitPattern, "\(count) floats in \(parts) shards")
            }
        }
    }

    /// The blocks' order matters to the bits: summed in another order the result differs, so
    /// the test above would notice a split that reordered them.
    func testAnotherOrderGivesOtherBits() {
        let x = values(40 * 4096)
        let sums = Buffer<Double>(count: 40)
        BlockNorm.sumBlocks(x.base, count: x.count, blocks: 0..<40, into: sums.base)
        let forward = BlockNorm.combine(UnsafeBufferPointer(start: sums.base, count: 40))
        let backward = (0..<40).reversed().reduce(0.0) { $0 + sums[$1] }
        let whole = Float.sumOfSquares(count: x.count, x: x.base)
        XCTAssertTrue(forward != backward || forward != whole, "no order-dependent rounding in this data")
    }

    func testShardsAreWholeBlocksCoveringTheBufferOnce() {
        for count in [1, 4096, 4097, 5 * 4096 + 3, 100_000] {
            for parts in 1...5 {
                let shards = ParameterShards(count: count, parts: parts)
                XCTAssertEqual(shards.ranges.first?.lowerBound, 0)
                XCTAssertEqual(shards.ranges.last?.upperBound, count)
                for r in 1..<parts {
                    XCTAssertEqual(shards.ranges[r - 1].upperBound, shards.ranges[r].lowerBound)
                    XCTAssertEqual(shards.ranges[r].lowerBound % BlockNorm.size == 0 || shards.ranges[r].isEmpty, true)
                }
                XCTAssertEqual(shards.blocks.map(\.count).reduce(0, +), BlockNorm.blockCount(count))
                let range = (count / 3)..<(count - count / 5)
                let pieces = shards.pieces(of: range)
                XCTAssertEqual(pieces.map(\.range.count).reduce(0, +), range.count, "\(count) in \(parts)")
                for (rank, piece) in pieces {
                    XCTAssertTrue(shards.ranges[rank].contains(piece.lowerBound) && shards.ranges[rank].contains(piece.upperBound - 1))
                }
            }
        }
    }
}
