import Kernels
import TestSupport
import XCTest

/// `BF16.round`: the AVX512_BF16 instruction and the scalar code give the same bits, and both
/// are round-to-nearest-even with subnormals taken as zero, checked against a rounding written
/// here from the definition (the nearer of the two bf16 neighbours, in Double).
final class BF16RoundingTests: XCTestCase {
    /// x's bf16 neighbours toward zero and away from it, and the nearer one (ties: even mantissa).
    private func nearest(_ x: Float) -> UInt16 {
        var bits = x.bitPattern
        if bits & 0x7F80_0000 == 0 { bits &= 0x8000_0000 }
        let down = UInt16(bits >> 16), up = down &+ 1
        let lo = Double(Float(bitPattern: UInt32(down) << 16)), hi = Double(Float(bitPattern: UInt32(up) << 16))
        let v = Double(Float(bitPattern: bits))
        let toLow = abs(v - lo), toHigh = abs(hi - v)
        if toLow != toHigh { return toLow < toHigh ? down : up }
        return down & 1 == 0 ? down : up
    }

    private func values() -> [Float] {
        var random = TestRandom(seed: 3)
        var xs: [Float] = (0..<4000).map { _ in Float(random.uniform(-1, 1)) * Float(pow(2, random.uniform(-126, 120))) }
        // Halfway cases: the 16 dropped bits exactly 0x8000, below and above it.
        for _ in 0..<200 {
            let high = UInt32(random.uniform(0, 0x7F00)) << 16
            xs += [0x8000, 0x7FFF, 0x8001].map { Float(bitPattern: high | $0) }
        }
        xs += [0, -0, 1, -1, .leastNormalMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
               Float(bitPattern: 0x007F_FFFF), .infinity, -.infinity]
        return xs
    }

    private func rounded(_ xs: [Float], scalar: Bool) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                BF16.round(rows: 1, cols: xs.count, x.baseAddress!, lds: xs.count, into: o.baseAddress!, ldd: xs.count,
                           scalar: scalar)
            }
        }
        return out
    }

    func testScalarRoundingIsNearestEvenWithSubnormalsAsZero() {
        let xs = values()
        let got = rounded(xs, scalar: true)
        for (x, r) in zip(xs, got) where x.isFinite && abs(x) < 3e38 {
            XCTAssertEqual(r, nearest(x), "\(x) (0x\(String(x.bitPattern, radix: 16)))")
        }
        XCTAssertEqual(BF16.widen(got[xs.count - 2]), .infinity)
        // The largest Float is past the largest bf16 by more than half its spacing: infinity.
        XCTAssertEqual(rounded([.greatestFiniteMagnitude], scalar: true), [0x7F80])
        let nan = rounded([.nan, Float(bitPattern: 0x7F80_0001)], scalar: true).map(BF16.widen)
        XCTAssertTrue(nan.allSatisfy(\.isNaN), "NaN stays NaN, a signalling one included")
    }

    func testInstructionMatchesScalarCode() throws {
        guard BF16.hasFastProducts else { throw XCTSkip("this CPU has no AVX512_BF16: only the scalar code runs") }
        let xs = values() + [.nan, -.nan, Float(bitPattern: 0x7F80_0001), .greatestFiniteMagnitude]
        // Odd lengths reach the masked tail of the vector loop.
        for count in [xs.count, xs.count - 5, 13, 1] {
            let part = Array(xs.prefix(count))
            let vector = rounded(part, scalar: false), scalar = rounded(part, scalar: true)
            for i in 0..<count where !(BF16.widen(vector[i]).isNaN && BF16.widen(scalar[i]).isNaN) {
                XCTAssertEqual(vector[i], scalar[i], "\(part[i]) of \(count)")
            }
        }
    }
}
