// The element types the models compute in. Float trains; Double checks gradients.
// Each requirement forwards to a CBLAS routine or a kernel of CKernels (see kernels.h for shapes);
// the recurrent cells bind their own step kernels, each in its file in Models/Cells.
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

extension Float: Scalar {
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, cblasTranspose(transA), cblasTranspose(transB), Int32(m), Int32(n),
                    Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func gemv(transA: Bool, rows: Int, cols: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, cblasTranspose(transA), Int32(rows), Int32(cols), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, 1)
    }

    @inline(__always)
    public static func actForward(rows: Int, width: Int, relu: Bool, pre: UnsafePointer<Float>, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        rk_act_forward_f32(rows, width, relu ? 1 : 0, pre, bias, out)
    }

    @inline(__always)
    public static func actBackward(n: Int, h: Int, relu: Bool, out: UnsafePointer<Float>, dup: UnsafePointer<Float>, ldup: Int, drec: UnsafePointer<Float>?, dpre: UnsafeMutablePointer<Float>) {
        rk_act_backward_f32(n, h, relu ? 1 : 0, out, dup, ldup, drec, dpre)
    }

    @inline(__always)
    public static func softmaxCrossEntropy(rows: Int, vocabulary: Int, logits: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, targets: UnsafePointer<Int32>, mask: UnsafePointer<UInt8>?, gradient: Bool, biasGradient: UnsafeMutablePointer<Float>?, count: inout Int, correct: inout Int) -> Double {
        return rk_softmax_xent_f32(rows, vocabulary, logits, bias, targets, mask, gradient ? 1 : 0, biasGradient, &count, &correct)
    }

    @inline(__always)
    public static func dropoutForward(rows: Int, cols: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int, mask: UnsafeMutablePointer<Float>, rowKeys: UnsafePointer<UInt64>, p: Double) {
        rk_dropout_forward_f32(rows, cols, x, ldx, y, ldy, mask, rowKeys, p)
    }

    @inline(__always)
    public static func dropoutBackward(rows: Int, cols: Int, dy: UnsafePointer<Float>, lddy: Int, mask: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, lddx: Int) {
        rk_dropout_backward_f32(rows, cols, dy, lddy, mask, dx, lddx)
    }

    @inline(__always)
    public static func embeddingForward(rows: Int, width: Int, table: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, out: UnsafeMutablePointer<Float>, ldout: Int) {
        rk_embedding_forward_f32(rows, width, table, tokens, out, ldout)
    }

    @inline(__always)
    public static func embeddingBackward(rows: Int, width: Int, dtable: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, dout: UnsafePointer<Float>, lddout: Int) {
        rk_embedding_backward_f32(rows, width, dtable, tokens, dout, lddout)
    }

    @inline(__always)
    public static func biasRows(rows: Int, cols: Int, out: UnsafeMutablePointer<Float>, ld: Int, b1: UnsafePointer<Float>, b2: UnsafePointer<Float>?) {
        rk_bias_rows_f32(rows, cols, out, ld, b1, b2)
    }

    @inline(__always)
    public static func columnSumAdd(rows: Int, cols: Int, x: UnsafePointer<Float>, ld: Int, out: UnsafeMutablePointer<Float>) {
        rk_colsum_add_f32(rows, cols, x, ld, out)
    }

    @inline(__always)
    public static func sumOfSquares(count: Int, x: UnsafePointer<Float>) -> Double {
        return rk_sumsq_f32(count, x)
    }

    @inline(__always)
    public static func copyRows(rows: Int, cols: Int, src: UnsafePointer<Float>, lds: Int, dst: UnsafeMutablePointer<Float>, ldd: Int) {
        rk_copy_rows_f32(rows, cols, src, lds, dst, ldd)
    }

    @inline(__always)
    public static func addRows(rows: Int, cols: Int, src: UnsafePointer<Float>, lds: Int, dst: UnsafeMutablePointer<Float>, ldd: Int) {
        rk_add_rows_f32(rows, cols, src, lds, dst, ldd)
    }

    @inline(__always)
    public static func transpose(rows: Int, cols: Int, src: UnsafePointer<Float>, lds: Int, dst: UnsafeMutablePointer<Float>, ldd: Int) {
        rk_transpose_f32(rows, cols, src, lds, dst, ldd)
    }
}

extension Double: Scalar {
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, cblasTranspose(transA), cblasTranspose(transB), Int32(m), Int32(n),
                    Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func gemv(transA: Bool, rows: Int, cols: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            x: UnsafePointer<Double>, incx: Int, beta: Double, y: UnsafeMutablePointer<Double>) {
        cblas_dgemv(CblasRowMajor, cblasTranspose(transA), Int32(rows), Int32(cols), alpha, a, Int32(lda),
                    x, Int32(incx), beta, y, 1)
    }

    @inline(__always)
    public static func actForward(rows: Int, width: Int, relu: Bool, pre: UnsafePointer<Double>, bias: UnsafePointer<Double>?, out: UnsafeMutablePointer<Double>) {
        rk_act_forward_f64(rows, width, relu ? 1 : 0, pre, bias, out)
    }

    @inline(__always)
    public static func actBackward(n: Int, h: Int, relu: Bool, out: UnsafePointer<Double>, dup: UnsafePointer<Double>, ldup: Int, drec: UnsafePointer<Double>?, dpre: UnsafeMutablePointer<Double>) {
        rk_act_backward_f64(n, h, relu ? 1 : 0, out, dup, ldup, drec, dpre)
    }

    @inline(__always)
    public static func softmaxCrossEntropy(rows: Int, vocabulary: Int, logits: UnsafeMutablePointer<Double>, bias: UnsafePointer<Double>?, targets: UnsafePointer<Int32>, mask: UnsafePointer<UInt8>?, gradient: Bool, biasGradient: UnsafeMutablePointer<Double>?, count: inout Int, correct: inout Int) -> Double {
        return rk_softmax_xent_f64(rows, vocabulary, logits, bias, targets, mask, gradient ? 1 : 0, biasGradient, &count, &correct)
    }

    @inline(__always)
    public static func dropoutForward(rows: Int, cols: Int, x: UnsafePointer<Double>, ldx: Int, y: UnsafeMutablePointer<Double>, ldy: Int, mask: UnsafeMutablePointer<Double>, rowKeys: UnsafePointer<UInt64>, p: Double) {
        rk_dropout_forward_f64(rows, cols, x, ldx, y, ldy, mask, rowKeys, p)
    }

    @inline(__always)
    public static func dropoutBackward(rows: Int, cols: Int, dy: UnsafePointer<Double>, lddy: Int, mask: UnsafePointer<Double>, dx: UnsafeMutablePointer<Double>, lddx: Int) {
        rk_dropout_backward_f64(rows, cols, dy, lddy, mask, dx, lddx)
    }

    @inline(__always)
    public static func embeddingForward(rows: Int, width: Int, table: UnsafePointer<Double>, tokens: UnsafePointer<Int32>, out: UnsafeMutablePointer<Double>, ldout: Int) {
        rk_embedding_forward_f64(rows, width, table, tokens, out, ldout)
    }

    @inline(__always)
    public static func embeddingBackward(rows: Int, width: Int, dtable: UnsafeMutablePointer<Double>, tokens: UnsafePointer<Int32>, dout: UnsafePointer<Double>, lddout: Int) {
        rk_embedding_backward_f64(rows, width, dtable, tokens, dout, lddout)
    }

    @inline(__always)
    public static func biasRows(rows: Int, cols: Int, out: UnsafeMutablePointer<Double>, ld: Int, b1: UnsafePointer<Double>, b2: UnsafePointer<Double>?) {
        rk_bias_rows_f64(rows, cols, out, ld, b1, b2)
    }

    @inline(__always)
    public static func columnSumAdd(rows: Int, cols: Int, x: UnsafePointer<Double>, ld: Int, out: UnsafeMutablePointer<Double>) {
        rk_colsum_add_f64(rows, cols, x, ld, out)
    }

    @inline(__always)
    public static func sumOfSquares(count: Int, x: UnsafePointer<Double>) -> Double {
        return rk_sumsq_f64(count, x)
    }

    @inline(__always)
    public static func copyRows(rows: Int, cols: Int, src: UnsafePointer<Double>, lds: Int, dst: UnsafeMutablePointer<Double>, ldd: Int) {
        rk_copy_rows_f64(rows, cols, src, lds, dst, ldd)
    }

    @inline(__always)
    public static func addRows(rows: Int, cols: Int, src: UnsafePointer<Double>, lds: Int, dst: UnsafeMutablePointer<Double>, ldd: Int) {
        rk_add_rows_f64(rows, cols, src, lds, dst, ldd)
    }

    @inline(__always)
    public static func transpose(rows: Int, cols: Int, src: UnsafePointer<Double>, lds: Int, dst: UnsafeMutablePointer<Double>, ldd: Int) {
        rk_transpose_f64(rows, cols, src, lds, dst, ldd)
    }
}
