import Foundation
import Kernels
import TestSupport
import XCTest

/// Inverted dropout: the kept fraction, the 1/(1−p) scale, masks as a pure function of the row
/// key, and backward as multiplication by the mask.
final class DropoutKernelTests: XCTestCase {
    private func forward<T: Scalar>(_: T.Type, rows: Int, cols: Int, x: [Double], ldx: Int, ldy: Int,
                                  keys: [UInt64], p: Double) -> (y: [Double], mask: [Double]) {
        let xb = Buffer<T>(doubles: x), y = Buffer<T>(count: rows * ldy), mask = Buffer<T>(count: rows * cols)
        withExtendedLifetime((xb, y, mask)) {
            keys.withUnsafeBufferPointer { k in
                T.dropoutForward(rows: rows, cols: cols, x: xb.base, ldx: ldx, y: y.base, ldy: ldy, mask: mask.base,
                                 rowKeys: k.baseAddress!, p: p)
            }
        }
        return (y.doubles, mask.doubles)
    }

    /// 64 000 Bernoulli(1 − p) draws: the kept fraction has standard deviation √(p(1−p)/N) ≈ 0.0018.
    func testKeptFractionIsOneMinusP() {
        let rows = 64, cols = 1000
        let keys = (0..<rows).map { CounterHash.key(5, UInt64($0)) }
        for p in [0.1, 0.5, 0.8] {
            let mask = forward(Double.self, rows: rows, cols: cols, x: [Double](repeating: 1, count: rows * cols),
                               ldx: cols, ldy: cols, keys: keys, p: p).mask
            let kept = Double(mask.filter { $0 != 0 }.count) / Double(mask.count)
            let sigma = (p * (1 - p) / Double(mask.count)).squareRoot()
            XCTAssertEqual(kept, 1 - p, accuracy: 4 * sigma, "p \(p)")
        }
    }

    func testKeptValuesAreScaledAndDroppedAreZero() {
        let rows = 6, cols = 50, ldx = 53, ldy = 51, p = 0.3
        var random = TestRandom(seed: 41)
        let x = random.floatExact(rows * ldx)
        let keys = (0..<rows).map { CounterHash.key(9, UInt64($0)) }
        for T in [Float.self, Double.self] as [any Scalar.Type] {
            let (y, mask) = forwardAny(T, rows: rows, cols: cols, x: x, ldx: ldx, ldy: ldy, keys: keys, p: p)
            var kept = 0
            for r in 0..<rows {
                for j in 0..<cols {
                    let m = mask[r * cols + j], yv = y[r * ldy + j], xv = x[r * ldx + j]
                    if m == 0 {
                        XCTAssertEqual(yv, 0, "\(T) dropped (\(r), \(j))")
                    } else {
                        kept += 1
                        XCTAssertEqual(m, 1 / (1 - p), accuracy: 1e-7, "\(T) mask value (\(r), \(j))")
                        XCTAssertEqual(yv, xv / (1 - p), accuracy: 1e-6 * abs(xv) + 1e-12, "\(T) kept (\(r), \(j))")
                    }
                }
                // y's padding is left alone (it was zero).
                for j in cols..<ldy { XCTAssertEqual(y[r * ldy + j], 0, "\(T) padding (\(r), \(j))") }
            }
            XCTAssertTrue(kept > 0 && kept < rows * cols, "\(T) a mask of all-kept or all-dropped tests nothing")
        }
    }

    func testMaskIsAFunctionOfTheRowKey() {
        let rows = 4, cols = 200, p = 0.5
        let a = CounterHash.key(1, 2, 3), b = CounterHash.key(1, 2, 4)
        let x = [Double](repeating: 1, count: rows * cols)
        let first = forward(Double.self, rows: rows, cols: cols, x: x, ldx: cols, ldy: cols, keys: [a, b, a, b], p: p).mask
        let row = { (m: [Double], r: Int) in Array(m[(r * cols)..<((r + 1) * cols)]) }
        XCTAssertEqual(row(first, 0), row(first, 2), "same key, same mask within a call")
        XCTAssertNotEqual(row(first, 0), row(first, 1), "different keys, different masks")
        // The same key in another position and another call, and in Float: the same pattern.
        let again = forward(Double.self, rows: 1, cols: cols, x: x, ldx: cols, ldy: cols, keys: [b], p: p).mask
        XCTAssertEqual(row(again, 0), row(first, 1), "same key, same mask across calls and rows")
        let float = forward(Float.self, rows: rows, cols: cols, x: x, ldx: cols, ldy: cols, keys: [a, b, a, b], p: p).mask
        XCTAssertEqual(float.map { $0 != 0 }, first.map { $0 != 0 }, "Float and Double keep the same entries")
    }

    func testBackwardMultipliesByTheMask() {
        let rows = 3, cols = 7, lddy = 9, lddx = 8
        var random = TestRandom(seed: 42)
        let mask = (0..<(rows * cols)).map { _ in random.uniform(0, 1) < 0.5 ? 0 : 2.0 }
        let dy = random.floatExact(rows * lddy)
        for T in [Float.self, Double.self] as [any Scalar.Type] {
            let dx = backwardAny(T, rows: rows, cols: cols, dy: dy, lddy: lddy, mask: mask, lddx: lddx)
            var expected = [Double](repeating: -7, count: rows * lddx)
            for r in 0..<rows { for j in 0..<cols { expected[r * lddx + j] = dy[r * lddy + j] * mask[r * cols + j] } }
            assertClose(dx, expected, "\(T) dx = dy ⊙ mask, padding untouched")
        }
    }

    private func forwardAny(_ type: any Scalar.Type, rows: Int, cols: Int, x: [Double], ldx: Int, ldy: Int,
                            keys: [UInt64], p: Double) -> (y: [Double], mask: [Double]) {
        func open<T: Scalar>(_: T.Type) -> (y: [Double], mask: [Double]) {
            forward(T.self, rows: rows, cols: cols, x: x, ldx: ldx, ldy: ldy, keys: keys, p: p)
        }
        return open(type)
    }

    private func backwardAny(_ type: any Scalar.Type, rows: Int, cols: Int, dy: [Double], lddy: Int, mask: [Double],
                             lddx: Int) -> [Double] {
        func open<T: Scalar>(_: T.Type) -> [Double] {
            let d = Buffer<T>(doubles: dy), m = Buffer<T>(doubles: mask)
            let dx = Buffer<T>(doubles: [Double](repeating: -7, count: rows * lddx))
            withExtendedLifetime((d, m, dx)) {
                T.dropoutBackward(rows: rows, cols: cols, dy: d.base, lddy: lddy, mask: m.base, dx: dx.base, lddx: lddx)
            }
            return dx.doubles
        }
        return open(type)
    }
}
