import Kernels
import XCTest

/// The bf16 wire's error feedback and its sum operator, against values worked out by hand:
/// bf16 keeps 8 significant bits, so between 1 and 2 its spacing is 2^-7 and 1 + 2^-8 is a tie.
final class BF16FeedbackTests: XCTestCase {
    func testRoundingKeepsWhatItDropsAndSendsItNextTime() {
        let tie: Float = 1 + 0x1p-8              // halfway between 1 and 1 + 2^-7: to even, 1
        let upward: Float = 1 + 0x1p-7 + 0x1p-8  // halfway between 1 + 2^-7 and 1 + 2^-6: to even, 1 + 2^-6
        let tiny: Float = 0x1p-140              // subnormal: taken as zero, kept whole as residual
        let g = Buffer<Float>([tie, upward, tiny, .infinity, .nan, -3])
        let residual = Buffer<Float>(count: 6)
        let wire = Buffer<UInt16>(count: 6)
        BF16.feedback(count: 6, g.base, residual: residual.base, wire: wire.base)
        let sent = wire.array.map(BF16.widen)
        XCTAssertEqual(sent[0], 1)
        XCTAssertEqual(sent[1], 1 + 0x1p-6)
        XCTAssertEqual(sent[2], 0)
        XCTAssertEqual(sent[3], .infinity)
        XCTAssertTrue(sent[4].isNaN)
        XCTAssertEqual(sent[5], -3)
        XCTAssertEqual(residual.array.map(\.bitPattern), [0x1p-8, -0x1p-8, tiny, 0, 0, 0].map { Float($0).bitPattern })
        XCTAssertEqual(g.array[0], tie, "with a wire the gradient is only read")

        // The same gradient again: the first entry's residual makes it 1 + 2^-7, exact, so over
        // two steps the wire carried 2 + 2^-7, the true sum, and nothing is left behind.
        let again = Buffer<Float>([tie, upward, tiny, 1, 1, -3])
        BF16.feedback(count: 6, again.base, residual: residual.base, wire: wire.base)
        XCTAssertEqual(BF16.widen(wire[0]), 1 + 0x1p-7)
        XCTAssertEqual(residual[0], 0)
        XCTAssertEqual(BF16.widen(wire[1]), 1 + 0x1p-7, "1 + 3·2^-8 − 2^-8 = 1 + 2^-7")
        XCTAssertEqual(residual[1], 0)
        XCTAssertEqual(BF16.widen(wire[2]), 0, "2^-139 is still subnormal")
        XCTAssertEqual(residual[2], 2 * tiny)
    }

    func testWithoutAWireTheRoundedValueReplacesTheGradient() {
        let g = Buffer<Float>([1 + 0x1p-8 + 0x1p-20, 0.1])
        let residual = Buffer<Float>([0, 0x1p-30])
        BF16.feedback(count: 2, g.base, residual: residual.base, wire: nil)
        XCTAssertEqual(g[0], 1 + 0x1p-7, "just above the tie: up")
        XCTAssertEqual(residual[0], 0x1p-8 + 0x1p-20 - 0x1p-7)
        let r = Float(0.1) + 0x1p-30
        XCTAssertEqual(g[1], BF16.rounded(r))
        XCTAssertEqual(residual[1], r - BF16.rounded(r))
    }

    /// One step of the wire's sum: the two bf16 values added in Float, rounded once.
    func testSumAddsInFloatAndRoundsOnce() {
        let a: [Float] = [1, 1 + 0x1p-7, 3, -2, 0x1p-7]
        let b: [Float] = [0x1p-8, 0x1p-8, 0x1p-5, 2, 1]
        func bits(_ x: [Float]) -> Buffer<UInt16> {
            let out = Buffer<UInt16>(count: x.count)
            x.withUnsafeBufferPointer { BF16.round(rows: 1, cols: x.count, $0.baseAddress!, lds: x.count, into: out.base, ldd: x.count) }
            return out
        }
        let x = bits(a), y = bits(b)
        BF16.sum(count: a.count, x.base, into: y.base)
        // 1 + 2^-8: tie, to 1; 1 + 2^-7 + 2^-8: tie, to 1 + 2^-6; 3 + 2^-5 needs 8 bits, exact;
        // -2 + 2 = 0; 1 + 2^-7 exact.
        XCTAssertEqual(y.array.map(BF16.widen), [1, 1 + 0x1p-6, 3 + 0x1p-5, 0, 1 + 0x1p-7])
    }
}
