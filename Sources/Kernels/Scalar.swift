// The element types the models compute in. Float trains; Double checks gradients.
// Each requirement forwards to a CBLAS routine or a kernel of CKernels (see kernels.h for shapes),
// written once below for both: Float and Double are the only Scalar types, so `isFloat` picks
// the single- or double-precision routine, and specialisation folds the choice away (as the
// recurrent cells do for their own step kernels, each in its file in Models/Cells).
import CBLAS
import CKernels

public protocol Scalar: BinaryFloatingPoint, BitwiseCopyable, Sendable, CustomStringConvertible {
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// y [rows] = alpha · A x + beta · y, A [rows × cols] row-major (transA: y [cols] = alpha · Aᵀ x + beta · y).
    static func gemv(transA: Bool, rows: Int, cols: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>)
    /// out [rows × width] = φ(pre + bias), φ = relu or tanh.
    static func actForward(rows: Int, width: Int, relu: Bool, pre: UnsafePointer<Self>, bias: UnsafePointer<Self>?, out: UnsafeMutablePointer<Self>)
    /// dpre [n × h] = (dup + drec) ⊙ φ'(out).
    static func actBackward(n: Int, h: Int, relu: Bool, out: UnsafePointer<Self>, dup: UnsafePointer<Self>, ldup: Int, drec: UnsafePointer<Self>?, dpre: UnsafeMutablePointer<Self>)
    /// Summed softmax cross-entropy of logits + bias; with gradient, logits become ∂loss/∂logits and their column sums are added to biasGradient.
    static func softmaxCrossEntropy(rows: Int, vocabulary: Int, logits: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>?, targets: UnsafePointer<Int32>, mask: UnsafePointer<UInt8>?, gradient: Bool, biasGradient: UnsafeMutablePointer<Self>?, count: inout Int, correct: inout Int) -> Double
    /// Inverted dropout with counter-based masks.
    static func dropoutForward(rows: Int, cols: Int, x: UnsafePointer<Self>, ldx: Int, y: UnsafeMutablePointer<Self>, ldy: Int, mask: UnsafeMutablePointer<Self>, rowKeys: UnsafePointer<UInt64>, p: Double)
    /// dx = dy ⊙ mask.
    static func dropoutBackward(rows: Int, cols: Int, dy: UnsafePointer<Self>, lddy: Int, mask: UnsafePointer<Self>, dx: UnsafeMutablePointer<Self>, lddx: Int)
    /// Row lookup; a negative token gives a zero row.
    static func embeddingForward(rows: Int, width: Int, table: UnsafePointer<Self>, tokens: UnsafePointer<Int32>, out: UnsafeMutablePointer<Self>, ldout: Int)
    /// Scatter-add of row gradients.
    static func embeddingBackward(rows: Int, width: Int, dtable: UnsafeMutablePointer<Self>, tokens: UnsafePointer<Int32>, dout: UnsafePointer<Self>, lddout: Int)
    /// Every row of out = b1 + b2.
    static func biasRows(rows: Int, cols: Int, out: UnsafeMutablePointer<Self>, ld: Int, b1: UnsafePointer<Self>, b2: UnsafePointer<Self>?)
    /// out += column sums of x.
    static func columnSumAdd(rows: Int, cols: Int, x: UnsafePointer<Self>, ld: Int, out: UnsafeMutablePointer<Self>)
    /// Σ x², accumulated in Double.
    static func sumOfSquares(count: Int, x: UnsafePointer<Self>) -> Double
    /// dst = src.
    static func copyRows(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int)
    /// dst += src.
    static func addRows(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int)
    /// dst [cols × rows] = srcᵀ, src [rows × cols].
    static func transpose(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int)
}

extension Float: Scalar {}
extension Double: Scalar {}

extension Scalar {
    @inline(__always) static var isFloat: Bool { Self.self == Float.self }

    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                            a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        let (ta, tb, m, n, k, lda, ldb, ldc) = (cblasTranspose(transA), cblasTranspose(transB), Int32(m), Int32(n), Int32(k),
                                                Int32(lda), Int32(ldb), Int32(ldc))
        if isFloat {
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, Float(alpha), a.f32, lda, b.f32, ldb, Float(beta), c.f32, ldc)
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, Double(alpha), a.f64, lda, b.f64, ldb, Double(beta), c.f64, ldc)
        }
    }

    @inline(__always)
    public static func gemv(transA: Bool, rows: Int, cols: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                            x: UnsafePointer<Self>, incx: Int, beta: Self, y: UnsafeMutablePointer<Self>) {
        let (t, rows, cols, lda, incx) = (cblasTranspose(transA), Int32(rows), Int32(cols), Int32(lda), Int32(incx))
        if isFloat {
            cblas_sgemv(CblasRowMajor, t, rows, cols, Float(alpha), a.f32, lda, x.f32, incx, Float(beta), y.f32, 1)
        } else {
            cblas_dgemv(CblasRowMajor, t, rows, cols, Double(alpha), a.f64, lda, x.f64, incx, Double(beta), y.f64, 1)
        }
    }

    @inline(__always)
    public static func actForward(rows: Int, width: Int, relu: Bool, pre: UnsafePointer<Self>, bias: UnsafePointer<Self>?, out: UnsafeMutablePointer<Self>) {
        isFloat ? rk_act_forward_f32(rows, width, relu ? 1 : 0, pre.f32, bias?.f32, out.f32)
                : rk_act_forward_f64(rows, width, relu ? 1 : 0, pre.f64, bias?.f64, out.f64)
    }

    @inline(__always)
    public static func actBackward(n: Int, h: Int, relu: Bool, out: UnsafePointer<Self>, dup: UnsafePointer<Self>, ldup: Int, drec: UnsafePointer<Self>?, dpre: UnsafeMutablePointer<Self>) {
        isFloat ? rk_act_backward_f32(n, h, relu ? 1 : 0, out.f32, dup.f32, ldup, drec?.f32, dpre.f32)
                : rk_act_backward_f64(n, h, relu ? 1 : 0, out.f64, dup.f64, ldup, drec?.f64, dpre.f64)
    }

    @inline(__always)
    public static func softmaxCrossEntropy(rows: Int, vocabulary: Int, logits: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>?, targets: UnsafePointer<Int32>, mask: UnsafePointer<UInt8>?, gradient: Bool, biasGradient: UnsafeMutablePointer<Self>?, count: inout Int, correct: inout Int) -> Double {
        isFloat ? rk_softmax_xent_f32(rows, vocabulary, logits.f32, bias?.f32, targets, mask, gradient ? 1 : 0, biasGradient?.f32, &count, &correct)
                : rk_softmax_xent_f64(rows, vocabulary, logits.f64, bias?.f64, targets, mask, gradient ? 1 : 0, biasGradient?.f64, &count, &correct)
    }

    @inline(__always)
    public static func dropoutForward(rows: Int, cols: Int, x: UnsafePointer<Self>, ldx: Int, y: UnsafeMutablePointer<Self>, ldy: Int, mask: UnsafeMutablePointer<Self>, rowKeys: UnsafePointer<UInt64>, p: Double) {
        isFloat ? rk_dropout_forward_f32(rows, cols, x.f32, ldx, y.f32, ldy, mask.f32, rowKeys, p)
                : rk_dropout_forward_f64(rows, cols, x.f64, ldx, y.f64, ldy, mask.f64, rowKeys, p)
    }

    @inline(__always)
    public static func dropoutBackward(rows: Int, cols: Int, dy: UnsafePointer<Self>, lddy: Int, mask: UnsafePointer<Self>, dx: UnsafeMutablePointer<Self>, lddx: Int) {
        isFloat ? rk_dropout_backward_f32(rows, cols, dy.f32, lddy, mask.f32, dx.f32, lddx)
                : rk_dropout_backward_f64(rows, cols, dy.f64, lddy, mask.f64, dx.f64, lddx)
    }

    @inline(__always)
    public static func embeddingForward(rows: Int, width: Int, table: UnsafePointer<Self>, tokens: UnsafePointer<Int32>, out: UnsafeMutablePointer<Self>, ldout: Int) {
        isFloat ? rk_embedding_forward_f32(rows, width, table.f32, tokens, out.f32, ldout)
                : rk_embedding_forward_f64(rows, width, table.f64, tokens, out.f64, ldout)
    }

    @inline(__always)
    public static func embeddingBackward(rows: Int, width: Int, dtable: UnsafeMutablePointer<Self>, tokens: UnsafePointer<Int32>, dout: UnsafePointer<Self>, lddout: Int) {
        isFloat ? rk_embedding_backward_f32(rows, width, dtable.f32, tokens, dout.f32, lddout)
                : rk_embedding_backward_f64(rows, width, dtable.f64, tokens, dout.f64, lddout)
    }

    @inline(__always)
    public static func biasRows(rows: Int, cols: Int, out: UnsafeMutablePointer<Self>, ld: Int, b1: UnsafePointer<Self>, b2: UnsafePointer<Self>?) {
        isFloat ? rk_bias_rows_f32(rows, cols, out.f32, ld, b1.f32, b2?.f32) : rk_bias_rows_f64(rows, cols, out.f64, ld, b1.f64, b2?.f64)
    }

    @inline(__always)
    public static func columnSumAdd(rows: Int, cols: Int, x: UnsafePointer<Self>, ld: Int, out: UnsafeMutablePointer<Self>) {
        isFloat ? rk_colsum_add_f32(rows, cols, x.f32, ld, out.f32) : rk_colsum_add_f64(rows, cols, x.f64, ld, out.f64)
    }

    @inline(__always)
    public static func sumOfSquares(count: Int, x: UnsafePointer<Self>) -> Double {
        isFloat ? rk_sumsq_f32(count, x.f32) : rk_sumsq_f64(count, x.f64)
    }

    @inline(__always)
    public static func copyRows(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int) {
        isFloat ? rk_copy_rows_f32(rows, cols, src.f32, lds, dst.f32, ldd) : rk_copy_rows_f64(rows, cols, src.f64, lds, dst.f64, ldd)
    }

    @inline(__always)
    public static func addRows(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int) {
        isFloat ? rk_add_rows_f32(rows, cols, src.f32, lds, dst.f32, ldd) : rk_add_rows_f64(rows, cols, src.f64, lds, dst.f64, ldd)
    }

    @inline(__always)
    public static func transpose(rows: Int, cols: Int, src: UnsafePointer<Self>, lds: Int, dst: UnsafeMutablePointer<Self>, ldd: Int) {
        isFloat ? rk_transpose_f32(rows, cols, src.f32, lds, dst.f32, ldd) : rk_transpose_f64(rows, cols, src.f64, lds, dst.f64, ldd)
    }
}
