import Kernels
import TestSupport
import XCTest

/// `BF16Products` on both engines, every transpose, beta 0 and 1, one row and many, operands in
/// the parameter buffer (read from its bf16 copy) and outside it (rounded per product), against
/// a product computed here in Double from operands rounded by the test's own `bfloat16`. The
/// bound is fp32 accumulation's, derived from k as in `PackedMatmulTests`.
final class BF16ProductsTests: XCTestCase {
    static let shapes: [(m: Int, k: Int, n: Int)] = [(1, 64, 96), (7, 13, 5), (33, 200, 70), (64, 512, 48)]

    private var engines: [BF16Products.Engine] { BF16.hasFastProducts ? [.onednn, .emulated] : [.emulated] }

    func testGeneralProductsAgainstDoubleReference() throws {
        var random = TestRandom(seed: 17)
        for engine in engines {
            for (m, k, n) in Self.shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        for beta: Float in [0, 1] {
                            for weightB in [false, true] {
                                try check(engine, m: m, k: k, n: n, transA: transA, transB: transB, beta: beta,
                                          bInParameters: weightB, random: &random)
                            }
                        }
                    }
                }
            }
        }
    }

    func testPackedProductsAgainstDoubleReference() throws {
        var random = TestRandom(seed: 23)
        let dummy = Buffer<Float>(count: 1)
        for engine in engines {
            let products = try BF16Products(parameters: dummy.base, count: 1, engine: engine)
            for (m, k, n) in Self.shapes {
                for transposed in [false, true] {
                    for beta: Float in [0, 1] {
                        let a = random.array(m * k).map(Float.init), b = random.array(k * n).map(Float.init)
                        let c0 = random.array(m * n).map(Float.init)
                        let A = Buffer<Float>(a), B = Buffer<Float>(b), C = Buffer<Float>(c0)
                        let packed = products.packedProduct(rows: m, inner: k, columns: n)
                        withExtendedLifetime((A, B, C)) {
                            packed.pack(b: B.base, ldb: transposed ? k : n, transposed: transposed)
                            packed.multiply(a: A.base, lda: k, c: C.base, ldc: n, beta: beta)
                        }
                        let (expected, allowed) = reference(m: m, k: k, n: n, a: { a[$0 * k + $1] },
                                                            b: { transposed ? b[$1 * k + $0] : b[$0 * n + $1] },
                                                            c: beta == 0 ? nil : c0)
                        assertClose(C.array.map(Double.init), expected, allowed: { allowed[$0] },
                                    "\(engine) packed [\(m) × \(k)]·[\(k) × \(n)]\(transposed ? " Bᵀ" : "") beta \(beta)")
                    }
                }
            }
        }
    }

    /// The rows of a product do not depend on how many rows are multiplied together: what makes
    /// deterministic mode bit-identical when backward splits a product into blocks of rows.
    /// (Blocks of more than one row: OpenBLAS sums a single row, as GEMV, in another order.)
    func testRowsDoNotDependOnTheRowCount() throws {
        var random = TestRandom(seed: 29)
        let dummy = Buffer<Float>(count: 1)
        for engine in engines {
            let products = try BF16Products(parameters: dummy.base, count: 1, engine: engine)
            let (m, k, n) = (200, 256, 96)
            let A = Buffer<Float>(random.array(m * k).map(Float.init)), B = Buffer<Float>(random.array(k * n).map(Float.init))
            let whole = Buffer<Float>(count: m * n), blocks = Buffer<Float>(count: m * n)
            products.gemm(transA: false, transB: false, m: m, n: n, k: k, a: A.base, lda: k, b: B.base, ldb: n,
                          beta: 0, c: whole.base, ldc: n)
            var start = 0
            for size in [64, 9, 64, 63] where start < m {
                let rows = min(size, m - start)
                products.gemm(transA: false, transB: false, m: rows, n: n, k: k, a: A.base + start * k, lda: k,
                              b: B.base, ldb: n, beta: 0, c: blocks.base + start * n, ldc: n)
                start += rows
            }
            XCTAssertEqual(start, m)
            let differing = zip(whole.array, blocks.array).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            XCTAssertEqual(differing, 0, "\(engine): entries that differ between one product and blocks of rows")
        }
    }

    private func check(_ engine: BF16Products.Engine, m: Int, k: Int, n: Int, transA: Bool, transB: Bool, beta: Float,
                       bInParameters: Bool, random: inout TestRandom) throws {
        let label = "\(engine) [\(m) × \(k)]·[\(k) × \(n)] \(transA ? "Aᵀ" : "A") \(transB ? "Bᵀ" : "B") beta \(beta)"
            + (bInParameters ? " B in the parameters" : "")
        // Stored with padded rows; padding holds NaN, which must not be read.
        let aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n
        let lda = aCols + 2, ldb = bCols + 3, ldc = n + 1
        var a = [Float](repeating: .nan, count: aRows * lda), b = [Float](repeating: .nan, count: bRows * ldb)
        for i in 0..<aRows { for j in 0..<aCols { a[i * lda + j] = Float(random.uniform(-1, 1)) } }
        for i in 0..<bRows { for j in 0..<bCols { b[i * ldb + j] = Float(random.uniform(-1, 1)) } }
        var c0 = [Float](repeating: 77, count: m * ldc)
        for i in 0..<m { for j in 0..<n { c0[i * ldc + j] = beta == 0 ? .nan : Float(random.uniform(-1, 1)) } }
        // B in the parameter buffer, after 5 other parameters; A outside it.
        let parameters = Buffer<Float>(count: 5 + b.count + 4)
        for i in 0..<b.count { parameters[5 + i] = b[i] }
        let A = Buffer<Float>(a), Bout = Buffer<Float>(b), C = Buffer<Float>(c0)
        let products = try BF16Products(parameters: parameters.base, count: parameters.count, engine: engine)
        products.roundParameters()
        withExtendedLifetime((A, Bout, C, parameters)) {
            products.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: A.base, lda: lda,
                          b: bInParameters ? parameters.base + 5 : Bout.base, ldb: ldb, beta: beta, c: C.base, ldc: ldc)
        }
        var old = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { old[i * n + j] = c0[i * ldc + j] } }
        let (expected, allowed) = reference(m: m, k: k, n: n, a: { transA ? a[$1 * lda + $0] : a[$0 * lda + $1] },
                                            b: { transB ? b[$1 * ldb + $0] : b[$0 * ldb + $1] }, c: beta == 0 ? nil : old)
        var got = [Double](), padding = [Float]()
        for i in 0..<m {
            for j in 0..<n { got.append(Double(C[i * ldc + j])) }
            padding.append(C[i * ldc + n])
        }
        assertClose(got, expected, allowed: { allowed[$0] }, label)
        XCTAssertEqual(padding, [Float](repeating: 77, count: m), "\(label): C's padding written")
    }

    /// C = A·B (+ c) in Double on bf16-rounded A and B [m × n] contiguous, and the bound of
    /// fp32 accumulation in any order: γ_terms · Σ|aᵢbᵢ| (+|c|), γ_j = j·u/(1 − j·u), u = 2⁻²⁴,
    /// terms = k (+1 for c); bf16 products are exact in fp32. Plus the Double sum's own γ.
    private func reference(m: Int, k: Int, n: Int, a: (Int, Int) -> Float, b: (Int, Int) -> Float,
                           c: [Float]?) -> ([Double], [Double]) {
        let terms = Double(k + (c == nil ? 0 : 1))
        func gamma(_ u: Double) -> Double { terms * u / (1 - terms * u) }
        var expected = [Double](repeating: 0, count: m * n), allowed = expected
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let product = Double(bfloat16(a(i, p))) * Double(bfloat16(b(p, j)))
                    sum += product
                    magnitude += abs(product)
                }
                let old = c.map { Double($0[i * n + j]) } ?? 0
                expected[i * n + j] = sum + old
                allowed[i * n + j] = (gamma(0x1p-24) + gamma(0x1p-53)) * (magnitude + abs(old))
            }
        }
        return (expected, allowed)
    }
}
