import CBLAS
import CKernels

/// C [m × n] = alpha · op(A) · op(B) + beta · C, row-major, op(X) = Xᵀ when trans is set.
/// A is [m × k] (or [k × m] transposed), B is [k × n] (or [n × k] transposed).
@inline(__always)
public func gemm<T: Scalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                          a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                          beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if GEMMTrace.calls != nil {
        GEMMTrace.calls!.append(GEMMCall(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb,
                                         ldc: ldc, beta: beta != 0, double: T.self == Double.self))
    }
    if m == 1, k > 0 {
        rowTimesMatrix(transA: transA, transB: transB, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c)
    } else {
        T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// One row times a matrix, as GEMV. OpenBLAS's GEMM packs all of B for every call, which for a
/// single row (a per-step recurrent product of one sequence, as deterministic groups of one
/// make) costs up to 5× the product itself; GEMV reads B once. The row is A's only row, or with
/// transA its only column (stride lda).
@inline(__always)
func rowTimesMatrix<T: Scalar>(transA: Bool, transB: Bool, n: Int, k: Int, alpha: T, a: UnsafePointer<T>, lda: Int,
                             b: UnsafePointer<T>, ldb: Int, beta: T, c: UnsafeMutablePointer<T>) {
    // op(B) [k × n]: B stored [k × n] gives c = Bᵀ x; B stored [n × k] (transB) gives c = B x.
    T.gemv(transA: !transB, rows: transB ? n : k, cols: transB ? k : n, alpha: alpha, a: b, lda: ldb,
           x: a, incx: transA ? lda : 1, beta: beta, y: c)
}

/// The same product by three plain loops, in Double: the reference the tests hold `gemm` to.
public func gemmReference<T: Scalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                   a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                   beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transA ? a[p * lda + i] : a[i * lda + p]
                let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(x) * Double(y)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = T(Double(alpha) * sum + old)
        }
    }
}

/// The kernel family OpenBLAS picked for this CPU at load time ("SkylakeX", "Haswell"). An
/// OpenBLAS older than the CPU may not recognise it and fall back to far slower kernels
/// ("Prescott", SSE3); `OPENBLAS_CORETYPE` overrides the choice.
public var openBLASCoreName: String { String(cString: openblas_get_corename()) }

/// The threads OpenBLAS computes a product with, as it counted them at load time.
public var openBLASThreads: Int { Int(openblas_get_num_threads()) }

/// Whether this CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use (F, BW, VL, DQ, CD).
public var cpuRunsSkylakeXKernels: Bool { rk_cpu_has_avx512_skylakex() != 0 }

/// A row stride of at least `width` elements, a multiple of 16 (64 bytes of Float) and not a
/// multiple of 256, so consecutive rows do not fall on the same 4 KiB offset (4K aliasing).
public func paddedStride(_ width: Int) -> Int {
    let rounded = (width + 15) / 16 * 16
    return rounded % 256 == 0 ? rounded + 16 : rounded
}

@inline(__always)
func cblasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }
