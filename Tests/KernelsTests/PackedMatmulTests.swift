import Kernels
import TestSupport
import XCTest

/// `PackedMatmul` (oneDNN) in fp32 and bf16, beta 0 and 1, B given as [k × n] or as Bᵀ, with
/// contiguous and padded rows, against a product computed here in Double from the same operands:
/// for bf16, the operands rounded by `bfloat16` below, written without the code under test.
final class PackedMatmulTests: XCTestCase {
    /// (m, k, n) of C [m × n] = A [m × k] · B [k × n].
    static let shapes: [(m: Int, k: Int, n: Int)] = [
        (1, 64, 256),   // one sequence per step (a deterministic group of one)
        (7, 13, 5),     // odd sizes, a multiple of no block
        (8, 64, 256),   // lstm-2x512's step [64 × 512]·[512 × 2048], an eighth of each side
        (4, 32, 128),   // lstm-2x256's step [32 × 256]·[256 × 1024], an eighth
        (8, 64, 64),    // rnn-2x512's step [64 × 512]·[512 × 512], an eighth
        (60, 40, 128),  // an input projection [τ·n × d]·[d × G·h], scaled down
    ]

    func testAgainstDoubleReference() throws {
        var random = TestRandom(seed: 11)
        for (m, k, n) in Self.shapes {
            for precision in MatmulPrecision.allCases {
                for transposed in [false, true] {
                    for padded in [false, true] {
                        for beta: Float in [0, 1] {
                            try check(m: m, k: k, n: n, precision: precision, transposed: transposed, padded: padded,
                                      beta: beta, random: &random)
                        }
                    }
                }
            }
        }
    }

    /// Ties go to the even neighbour. bf16 keeps 8 significant bits, so next to 1 its spacing is
    /// 2⁻⁷: 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷ and goes down to 1, 1 + 3·2⁻⁸ goes up to
    /// 1 + 2⁻⁶; just above halfway goes up. With k = 1 and B = 1 the product is A as rounded.
    func testBFloat16RoundsToNearestEven() throws {
        let a: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), 1 + 0x1p-8 + 0x1p-20]
        let expected: [Float] = [1, 1 + 0x1p-6, -1, 1 + 0x1p-7]
        let p = try PackedMatmul(rows: a.count, inner: 1, columns: 1, precision: .bf16)
        let A = Buffer<Float>(a), B = Buffer<Float>([1]), C = Buffer<Float>(count: a.count)
        withExtendedLifetime((A, B, C)) {
            p.pack(b: B.base, ldb: 1, transposed: false)
            p.multiply(a: A.base, lda: 1, c: C.base, ldc: 1, beta: 0)
        }
        XCTAssertEqual(C.array, expected)
        XCTAssertEqual(a.map(bfloat16), expected, "the test's own rounding")
    }

    /// B packed once and used by many products (as by the τ steps of a chunk) gives the same
    /// bits as B packed before each product, by this instance or a new one; a new `pack`
    /// replaces B.
    func testPackOnceEqualsPackEachTime() throws {
        let (m, k, n) = (8, 64, 256)
        var random = TestRandom(seed: 5)
        let b1 = Buffer<Float>(random.array(k * n).map { Float($0) })
        let b2 = Buffer<Float>(random.array(k * n).map { Float($0) })
        let inputs = (0..<5).map { _ in Buffer<Float>(random.array(m * k).map { Float($0) }) }
        for precision in MatmulPrecision.allCases {
            let once = try PackedMatmul(rows: m, inner: k, columns: n, precision: precision)
            let fresh = try PackedMatmul(rows: m, inner: k, columns: n, precision: precision)
            func product(_ p: PackedMatmul, _ a: Buffer<Float>) -> [Float] {
                let c = Buffer<Float>(count: m * n)
                p.multiply(a: a.base, lda: k, c: c.base, ldc: n, beta: 0)
                return c.array
            }
            once.pack(b: b1.base, ldb: n, transposed: false)
            let packedOnce = inputs.map { product(once, $0) }
            for (i, a) in inputs.enumerated() {
                once.pack(b: b1.base, ldb: n, transposed: false)
                XCTAssertEqual(product(once, a), packedOnce[i], "\(precision) product \(i), B packed again")
                fresh.pack(b: b1.base, ldb: n, transposed: false)
                XCTAssertEqual(product(fresh, a), packedOnce[i], "\(precision) product \(i), another instance")
            }
            once.pack(b: b2.base, ldb: n, transposed: false)
            fresh.pack(b: b2.base, ldb: n, transposed: false)
            XCTAssertEqual(product(once, inputs[0]), product(fresh, inputs[0]), "\(precision) after packing another B")
            XCTAssertNotEqual(product(once, inputs[0]), packedOnce[0], "\(precision) still multiplies by the old B")
        }
    }

    private func check(m: Int, k: Int, n: Int, precision: MatmulPrecision, transposed: Bool, padded: Bool, beta: Float,
                       random: inout TestRandom) throws {
        let label = "\(precision) [\(m) × \(k)]·[\(k) × \(n)] B\(transposed ? "ᵀ given" : "") \(padded ? "padded" : "contiguous") beta \(beta)"
        // Stored: A [m × lda], B [k × ldb] or Bᵀ [n × ldb], C [m × ldc]. Padding holds NaN in
        // A and B, which must not be read, and a sentinel in C, which must come back unchanged.
        let pad = padded ? 3 : 0
        let lda = k + pad, ldb = (transposed ? k : n) + pad, ldc = n + pad
        let sentinel: Float = 1234.5
        var a = [Float](repeating: .nan, count: m * lda), b = [Float](repeating: .nan, count: (transposed ? n : k) * ldb)
        var c = [Float](repeating: sentinel, count: m * ldc)
        for i in 0..<m { for p in 0..<k { a[i * lda + p] = Float(random.uniform(-1, 1)) } }
        for p in 0..<k { for j in 0..<n { b[transposed ? j * ldb + p : p * ldb + j] = Float(random.uniform(-1, 1)) } }
        // beta 0 must not read C: NaN there must not reach the result.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? .nan : Float(random.uniform(-1, 1)) } }

        // The operands the engine is meant to multiply, A [m × k] and B [k × n] contiguous.
        let round: (Float) -> Float = precision == .bf16 ? bfloat16 : { $0 }
        var A = [Double](repeating: 0, count: m * k), B = [Double](repeating: 0, count: k * n)
        for i in 0..<m { for p in 0..<k { A[i * k + p] = Double(round(a[i * lda + p])) } }
        for p in 0..<k { for j in 0..<n { B[p * n + j] = Double(round(transposed ? b[j * ldb + p] : b[p * ldb + j])) } }
        var expected = c.map(Double.init), allowed = [Double](repeating: 0, count: m * ldc)
        // Error bound of a sum of `terms` products accumulated in fp32 in any order (standard
        // dot-product analysis): |ŝ − s| ≤ γ_terms · Σ|aᵢ||bᵢ|, γ_j = j·u / (1 − j·u), u = 2⁻²⁴,
        // terms = k, plus one for the C added with beta 1 (its magnitude joins the sum). bf16
        // products are exact in fp32, fp32 products round once each: within the same bound. The
        // Double reference's own error, γ_terms with u = 2⁻⁵³, is added to it.
        let terms = k + (beta == 0 ? 0 : 1)
        func gamma(_ u: Double) -> Double { Double(terms) * u / (1 - Double(terms) * u) }
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let product = A[i * k + p] * B[p * n + j]
                    sum += product
                    magnitude += abs(product)
                }
                let old = beta == 0 ? 0 : Double(c[i * ldc + j])
                expected[i * ldc + j] = sum + old
                allowed[i * ldc + j] = (gamma(0x1p-24) + gamma(0x1p-53)) * (magnitude + abs(old))
            }
        }

        let engine = try PackedMatmul(rows: m, inner: k, columns: n, precision: precision)
        let Abuf = Buffer<Float>(a), Bbuf = Buffer<Float>(b), Cbuf = Buffer<Float>(c)
        withExtendedLifetime((Abuf, Bbuf, Cbuf)) {
            engine.pack(b: Bbuf.base, ldb: ldb, transposed: transposed)
            engine.multiply(a: Abuf.base, lda: lda, c: Cbuf.base, ldc: ldc, beta: beta)
        }
        // C's padding is expected as it was, exactly (allowed 0).
        assertClose(Cbuf.array.map(Double.init), expected, allowed: { allowed[$0] }, label)
    }
}
