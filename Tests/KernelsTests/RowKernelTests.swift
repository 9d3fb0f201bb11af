import Kernels
import TestSupport
import XCTest

/// The small row-wise helpers, each with leading dimensions wider than the rows so a kernel that
/// ignores `ld` or writes into the padding fails.
final class RowKernelTests: XCTestCase {
    let rows = 3, cols = 5, ld = 7
    let sentinel = -42.0

    func testBiasRows() {
        check(Float.self)
        check(Double.self)
        func check<T: Scalar>(_: T.Type) {
            var random = TestRandom(seed: 61)
            let b1 = random.floatExact(cols), b2 = random.floatExact(cols)
            for useB2 in [false, true] {
                let out = Buffer<T>(doubles: [Double](repeating: sentinel, count: rows * ld))
                let b2Buffer = Buffer<T>(doubles: b2)
                let b1Buffer = Buffer<T>(doubles: b1)
                withExtendedLifetime((out, b1Buffer, b2Buffer)) {
                    T.biasRows(rows: rows, cols: cols, out: out.base, ld: ld, b1: b1Buffer.base,
                               b2: useB2 ? UnsafePointer(b2Buffer.base) : nil)
                }
                var expected = [Double](repeating: sentinel, count: rows * ld)
                for r in 0..<rows { for j in 0..<cols { expected[r * ld + j] = b1[j] + (useB2 ? b2[j] : 0) } }
                assertClose(out.doubles, expected, absolute: T.self == Float.self ? 2e-7 : 0, "\(T.self) b2 \(useB2)")
            }
        }
    }

    func testColumnSumAdd() {
        check(Float.self)
        check(Double.self)
        func check<T: Scalar>(_: T.Type) {
            var random = TestRandom(seed: 62)
            let x = random.floatExact(rows * ld), start = random.floatExact(cols)
            let out = Buffer<T>(doubles: start)
            let xBuffer = Buffer<T>(doubles: x)
            withExtendedLifetime((xBuffer, out)) {
                T.columnSumAdd(rows: rows, cols: cols, x: xBuffer.base, ld: ld, out: out.base)
            }
            let expected = (0..<cols).map { j in start[j] + (0..<rows).reduce(0) { $0 + x[$1 * ld + j] } }
            assertClose(out.doubles, expected, absolute: T.self == Float.self ? 1e-6 : 1e-15, "\(T.self)")
        }
    }

    /// 37 squares (two 16-lane blocks and a tail) of values near 1 plus one of 1e4: a Float
    /// accumulator would lose ~1e-4 absolute; a Double one is exact to ~1e-8.
    func testSumOfSquaresAccumulatesInDouble() {
        check(Float.self)
        check(Double.self)
        func check<T: Scalar>(_: T.Type) {
            var random = TestRandom(seed: 63)
            var x = random.floatExact(37, 0.5, 1.5)
            x[0] = 1e4
            let expected = x.reduce(0) { $0 + $1 * $1 }
            let xBuffer = Buffer<T>(doubles: x)
            let got = withExtendedLifetime(xBuffer) { T.sumOfSquares(count: x.count, x: xBuffer.base) }
            assertClose(got, expected, relative: 1e-14, "\(T.self)")
        }
    }

    func testCopyRows() {
        check(Float.self)
        check(Double.self)
        func check<T: Scalar>(_: T.Type) {
            var random = TestRandom(seed: 64)
            // Strided source into a differently strided destination.
            let lds = ld, ldd = cols + 1
            let src = random.floatExact(rows * lds)
            let dst = Buffer<T>(doubles: [Double](repeating: sentinel, count: rows * ldd))
            let srcBuffer = Buffer<T>(doubles: src)
            withExtendedLifetime((srcBuffer, dst)) {
                T.copyRows(rows: rows, cols: cols, src: srcBuffer.base, lds: lds, dst: dst.base, ldd: ldd)
            }
            var expected = [Double](repeating: sentinel, count: rows * ldd)
            for r in 0..<rows { for j in 0..<cols { expected[r * ldd + j] = src[r * lds + j] } }
            assertClose(dst.doubles, expected, "\(T.self) strided")
            // Contiguous rows (the one-block path).
            let dense = random.floatExact(rows * cols)
            let out = Buffer<T>(count: rows * cols + 1)
            out[rows * cols] = T(sentinel)
            let denseBuffer = Buffer<T>(doubles: dense)
            withExtendedLifetime((denseBuffer, out)) {
                T.copyRows(rows: rows, cols: cols, src: denseBuffer.base, lds: cols, dst: out.base, ldd: cols)
            }
            assertClose(out.doubles, dense + [sentinel], "\(T.self) contiguous")
        }
    }

    func testAddRows() {
        check(Float.self)
        check(Double.self)
        func check<T: Scalar>(_: T.Type) {
            var random = TestRandom(seed: 65)
            let lds = cols + 2, ldd = cols + 4
            let src = random.floatExact(rows * lds), start = random.floatExact(rows * ldd)
            let dst = Buffer<T>(doubles: start)
            let srcBuffer = Buffer<T>(doubles: src)
            withExtendedLifetime((srcBuffer, dst)) {
                T.addRows(rows: rows, cols: cols, src: srcBuffer.base, lds: lds, dst: dst.base, ldd: ldd)
            }
            var expected = start
            for r in 0..<rows { for j in 0..<cols { expected[r * ldd + j] += src[r * lds + j] } }
            assertClose(dst.doubles, expected, absolute: T.self == Float.self ? 2e-7 : 0, "\(T.self)")
        }
    }
}
