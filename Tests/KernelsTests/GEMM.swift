import Kernels
import TestSupport
import XCTest

/// `gemm` (BLAS) and `gemmReference` (loops) against a product computed here in Double, for all
/// transpose combinations, with padded leading dimensions and alpha/beta away from 0 and 1, for
/// several rows (GEMM) and for one row (which `gemm` hands to GEMV).
final class GEMMTests: XCTestCase {
    let n = 5, k = 4
    let alpha = 0.75, beta = -1.25

    func testFloat() {
        for m in [3, 1] { checkAllTranspositions(Float.self, m: m, unitRoundoff: 0x1p-24) }
    }

    func testDouble() {
        for m in [3, 1] { checkAllTranspositions(Double.self, m: m, unitRoundoff: 0x1p-53) }
    }

    /// beta = 0 means C is not read: NaN left there by an earlier use must not reach the result.
    func testBetaZeroIgnoresWhatCHeld() {
        for m in [3, 1] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = Buffer<Float>(count: m * k), b = Buffer<Float>(count: k * n), c = Buffer<Float>(count: m * n)
                    for i in 0..<a.count { a[i] = 1 }
                    for i in 0..<b.count { b[i] = 0.5 }
                    for i in 0..<c.count { c[i] = .nan }
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a.base, lda: transA ? m : k,
                         b: b.base, ldb: transB ? k : n, beta: 0, c: c.base, ldc: n)
                    XCTAssertEqual(c.array, [Float](repeating: Float(k) * 0.5, count: m * n), "m \(m) transA \(transA) transB \(transB)")
                }
            }
        }
    }

    private func checkAllTranspositions<T: Scalar>(_: T.Type, m: Int, unitRoundoff u: Double) {
        var random = TestRandom(seed: 7)
        for transA in [false, true] {
            for transB in [false, true] {
                // Stored shapes: A is [m × k] or [k × m], B is [k × n] or [n × k]; each row padded.
                let (aRows, aCols) = transA ? (k, m) : (m, k)
                let (bRows, bCols) = transB ? (n, k) : (k, n)
                let lda = aCols + 2, ldb = bCols + 3, ldc = n + 1
                let a = random.floatExact(aRows * lda), b = random.floatExact(bRows * ldb)
                let c0 = random.floatExact(m * ldc)
                func A(_ i: Int, _ p: Int) -> Double { transA ? a[p * lda + i] : a[i * lda + p] }
                func B(_ p: Int, _ j: Int) -> Double { transB ? b[j * ldb + p] : b[p * ldb + j] }

                // Padding columns of C must come back untouched.
                var expected = c0, bound = [Double](repeating: 0, count: m * ldc)
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for p in 0..<k { sum += A(i, p) * B(p, j); magnitude += abs(A(i, p) * B(p, j)) }
                        expected[i * ldc + j] = alpha * sum + beta * c0[i * ldc + j]
                        // Standard dot-product bound γ_{k+2}·(|α|Σ|a||b| + |β||c|), the +2 for the
                        // scaling and the final add; doubled to cover the reference's last rounding.
                        let gamma = Double(k + 2) * u / (1 - Double(k + 2) * u)
                        bound[i * ldc + j] = 2 * gamma * (abs(alpha) * magnitude + abs(beta * c0[i * ldc + j]))
                    }
                }
                let label = "\(T.self) m \(m) transA \(transA) transB \(transB)"
                for reference in [false, true] {
                    let A = Buffer<T>(doubles: a), B = Buffer<T>(doubles: b), C = Buffer<T>(doubles: c0)
                    withExtendedLifetime((A, B, C)) {
                        if reference {
                            gemmReference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: T(alpha), a: A.base,
                                          lda: lda, b: B.base, ldb: ldb, beta: T(beta), c: C.base, ldc: ldc)
                        } else {
                            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: T(alpha), a: A.base,
                                 lda: lda, b: B.base, ldb: ldb, beta: T(beta), c: C.base, ldc: ldc)
                        }
                    }
                    assertClose(C.doubles, expected, allowed: { bound[$0] },
                                "\(reference ? "gemmReference" : "gemm") \(label)")
                }
            }
        }
    }
}
