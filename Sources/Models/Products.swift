import Kernels
import ModelSpec

/// The matrix products of one model, in its precision: `gemm` in T on OpenBLAS (fp32, and
/// Double for the gradient check), or bf16 operands with fp32 sums (`BF16Products`, Float only).
/// Every GEMM of the model goes through here, so the precision is decided in one place.
final class Products<T: Scalar> {
    let precision: MatmulPrecision
    /// Set in bf16.
    let bf16: BF16Products?
    /// Seconds spent packing W_hh for the per-step products (bf16) since the last reset.
    var packingSeconds = 0.0

    init(precision: MatmulPrecision, parameters: Buffer<T>, engine: BF16Products.Engine?) throws {
        self.precision = precision
        guard precision == .bf16 else {
            bf16 = nil
            return
        }
        guard T.self == Float.self else { throw ModelError.invalidConfig(key: "train.precision", reason: "bf16 needs a Float model, not \(T.self)") }
        bf16 = try BF16Products(parameters: UnsafePointer(parameters.base.f32), count: parameters.count, engine: engine)
    }

    /// Bytes of the packed blocks alive: a workspace of another chunk shape frees its own.
    fileprivate(set) var packedBytes = 0

    /// Bytes of the bf16 copies: parameters, scratch, packed blocks (0 in fp32).
    var bytes: Int { (bf16?.bytes ?? 0) + packedBytes }

    /// A packed product for a direction's block, in the bf16 engine's numerics.
    func packedWeights(rows: Int, inner: Int, columns: Int) -> PackedWeights {
        PackedWeights(bf16!.packedProduct(rows: rows, inner: inner, columns: columns), tally: self)
    }

    /// Rounding and packing, inside the forward and backward times.
    var conversionSeconds: Double { (bf16?.conversionSeconds ?? 0) + packingSeconds }

    /// C [m × n] = op(A) · op(B) + beta · C, beta 0 or 1, row-major as `Kernels.gemm`.
    @inline(__always)
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int,
              b: UnsafePointer<T>, ldb: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        if let bf16 {
            bf16.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.f32, lda: lda, b: b.f32, ldb: ldb,
                      beta: beta == 0 ? 0 : 1, c: c.f32, ldc: ldc)
        } else {
            Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c, ldc: ldc)
        }
    }
}

/// A bf16 product on a weight block packed once per pass and reused by its τ per-step products.
final class PackedWeights {
    let product: any PackedProduct
    /// The pass it was last packed in.
    var pass = -1
    /// The model's products, which outlive every workspace and count this block's bytes.
    private unowned let tally: Products<Float>

    fileprivate init<T>(_ product: any PackedProduct, tally: Products<T>) {
        self.product = product
        self.tally = tally as! Products<Float>
        self.tally.packedBytes += product.bytes
    }

    deinit { tally.packedBytes -= product.bytes }
}
