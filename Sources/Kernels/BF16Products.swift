import CDNNL
import Clock

/// The matrix products of one Float model in bf16, as PyTorch's autocast computes them: both
/// operands rounded to bf16 (`BF16.round`), products exact and summed in fp32, C in fp32.
///
/// Operands that lie in the model's parameter buffer are read from its bf16 copy, rounded once
/// per pass by `roundParameters`; every other operand (layer inputs, hidden states, gate
/// gradients) is rounded into scratch for each product. The engine is oneDNN's bf16 matmul
/// (AVX512_BF16 kernels, a primitive per shape created on first use and kept) or, on a CPU
/// without those instructions, the same numerics emulated: the rounded operands widened back
/// to fp32 and multiplied by OpenBLAS, exact products and fp32 sums as before, only the order
/// of the sums differs. Not for concurrent use.
public final class BF16Products {
    public enum Engine: String, Sendable {
        /// oneDNN's bf16 matmul on AVX512_BF16 (or AMX).
        case onednn
        /// Rounded operands widened to fp32, multiplied by OpenBLAS.
        case emulated
    }

    public let engine: Engine
    private let parameters: UnsafePointer<Float>
    private let parameterCount: Int
    /// The parameters in bf16, at the same offsets.
    private let parameterCopy: Buffer<UInt16>
    private var scratchA = Buffer<UInt16>(count: 0), scratchB = Buffer<UInt16>(count: 0)
    /// The emulated engine's widened operands.
    private var wideA = Buffer<Float>(count: 0), wideB = Buffer<Float>(count: 0)
    private let dnnl: DNNLEngine?
    private var products: [ProductKey: Product] = [:]

    /// Seconds spent rounding (and, emulated, widening) operands so far.
    public private(set) var conversionSeconds = 0.0

    private struct ProductKey: Hashable {
        let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, accumulate: Bool
    }

    /// Views of A, B and C and the matmul over them.
    private struct Product {
        let a: DNNLMemory, b: DNNLMemory, c: DNNLMemory
        let matmul: DNNLPrimitive
        let implementation: String
    }

    /// `parameters` [count] is the buffer whose bf16 copy `roundParameters` keeps; `engine`
    /// nil picks oneDNN where `BF16.hasFastProducts`, else the emulation.
    public init(parameters: UnsafePointer<Float>, count: Int, engine: Engine? = nil) throws {
        self.engine = engine ?? (BF16.hasFastProducts ? .onednn : .emulated)
        self.parameters = parameters
        parameterCount = count
        parameterCopy = Buffer(count: count)
        dnnl = self.engine == .onednn ? try DNNLEngine() : nil
    }

    /// Bytes of the parameter copy and the scratch the products have grown so far.
    public var bytes: Int { parameterCopy.bytes + scratchA.bytes + scratchB.bytes + wideA.bytes + wideB.bytes }

    /// Refreshes the bf16 copy of the parameters: once per pass, after the optimizer changed them.
    public func roundParameters() {
        let start = ContinuousClock.now
        BF16.round(rows: 1, cols: parameterCount, parameters, lds: parameterCount, into: parameterCopy.base, ldd: parameterCount)
        conversionSeconds += start.secondsAgo
    }

    /// C [m × n] = op(A) · op(B) + beta · C (beta 0 or 1), row-major as `gemm`, with A and B
    /// rounded to bf16 and the sums in fp32.
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(beta == 0 || beta == 1, "BF16Products.gemm: beta must be 0 or 1, not \(beta)")
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        let start = ContinuousClock.now
        let (a16, lda16) = operand(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda, scratch: &scratchA)
        let (b16, ldb16) = operand(b, rows: transB ? n : k, cols: transB ? k : n, ld: ldb, scratch: &scratchB)
        switch engine {
        case .onednn:
            conversionSeconds += start.secondsAgo
            let key = ProductKey(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda16, ldb: ldb16, ldc: ldc,
                                 accumulate: beta == 1)
            let product = self.product(key)
            rk_dnnl_one_thread()
            product.a.point(at: a16)
            product.b.point(at: b16)
            product.c.point(at: c)
            product.matmul.run()
        case .emulated:
            let wa = widened(a16, rows: transA ? k : m, cols: transA ? m : k, ld: lda16, into: &wideA)
            let wb = widened(b16, rows: transB ? n : k, cols: transB ? k : n, ld: ldb16, into: &wideB)
            conversionSeconds += start.secondsAgo
            Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: wa, lda: transA ? m : k,
                         b: wb, ldb: transB ? k : n, beta: beta, c: c, ldc: ldc)
        }
    }

    /// oneDNN's name for the kernel of a product shape, creating its primitive if needed.
    public func implementation(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) -> String {
        guard engine == .onednn else { return "openblas (emulated bf16)" }
        return product(ProductKey(transA: transA, transB: transB, m: m, n: n, k: k, lda: transA ? m : k,
                                  ldb: transB ? k : n, ldc: n, accumulate: false)).implementation
    }

    /// A product on a B packed once and reused [m × k]·[k × n], in this engine's numerics.
    public func packedProduct(rows m: Int, inner k: Int, columns n: Int) -> any PackedProduct {
        switch engine {
        case .onednn:
            do { return try PackedMatmul(rows: m, inner: k, columns: n, precision: .bf16) } catch {
                preconditionFailure("BF16Products: oneDNN cannot pack [\(k) × \(n)] in bf16 on this CPU: \(error)")
            }
        case .emulated:
            return EmulatedPackedProduct(rows: m, inner: k, columns: n)
        }
    }

    /// The operand [rows × cols] (row stride ld) in bf16: its place in the parameter copy, or
    /// rounded into `scratch` contiguously.
    private func operand(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                         scratch: inout Buffer<UInt16>) -> (UnsafePointer<UInt16>, Int) {
        let offset = parameters.distance(to: x)
        if offset >= 0, offset < parameterCount {
            precondition(offset + (rows - 1) * ld + cols <= parameterCount, "BF16Products: operand runs past the parameters")
            return (UnsafePointer(parameterCopy.base + offset), ld)
        }
        if scratch.count < rows * cols { scratch = Buffer(count: rows * cols) }
        BF16.round(rows: rows, cols: cols, x, lds: ld, into: scratch.base, ldd: cols)
        return (UnsafePointer(scratch.base), cols)
    }

    private func widened(_ x: UnsafePointer<UInt16>, rows: Int, cols: Int, ld: Int,
                         into wide: inout Buffer<Float>) -> UnsafePointer<Float> {
        if wide.count < rows * cols { wide = Buffer(count: rows * cols) }
        BF16.widen(rows: rows, cols: cols, x, lds: ld, into: wide.base, ldd: cols)
        return UnsafePointer(wide.base)
    }

    private func product(_ key: ProductKey) -> Product {
        if let known = products[key] { return known }
        do {
            let made = try makeProduct(key)
            products[key] = made
            return made
        } catch {
            preconditionFailure("BF16Products: oneDNN has no bf16 matmul for \(key) on this CPU: \(error)")
        }
    }

    private func makeProduct(_ key: ProductKey) throws -> Product {
        let engine = dnnl!
        let a = try matrixDescriptor(rows: key.m, cols: key.k, ld: key.lda, transposed: key.transA, type: dnnl_bf16)
        let b = try matrixDescriptor(rows: key.k, cols: key.n, ld: key.ldb, transposed: key.transB, type: dnnl_bf16)
        let c = try matrixDescriptor(rows: key.m, cols: key.n, ld: key.ldc, type: dnnl_f32)
        let descriptor = try DNNLPrimitiveDescriptor(matmulOf: a, weights: b, dst: c, accumulate: key.accumulate, engine: engine)
        let views = try (DNNLMemory(a, engine: engine, owned: false), DNNLMemory(b, engine: engine, owned: false),
                         DNNLMemory(c, engine: engine, owned: false))
        let matmul = try DNNLPrimitive(descriptor, arguments: [(Int32(DNNL_ARG_SRC), views.0), (Int32(DNNL_ARG_WEIGHTS), views.1),
                                                               (Int32(DNNL_ARG_DST), views.2)], engine: engine)
        return Product(a: views.0, b: views.1, c: views.2, matmul: matmul, implementation: descriptor.implementation)
    }
}

/// C [m × n] = A [m × k] · B [k × n] (+ C) on a B packed once and reused by every product until
/// the next `pack`: a step's τ recurrent products on the same W_hh.
public protocol PackedProduct: AnyObject {
    /// Packs B [k × n] (row stride ldb), or with `transposed` B given as Bᵀ [n × k].
    func pack(b: UnsafePointer<Float>, ldb: Int, transposed: Bool)
    /// C (row stride ldc) = A (row stride lda) · B, beta 0 or 1.
    func multiply(a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float)
    /// Bytes it holds: packed B and rounded A.
    var bytes: Int { get }
}

extension PackedMatmul: PackedProduct {}

/// `PackedProduct` in emulated bf16: B rounded once per `pack` and kept widened, A rounded for
/// every product, OpenBLAS (GEMV for one row) multiplying the bf16 values in fp32.
final class EmulatedPackedProduct: PackedProduct {
    let rows: Int, inner: Int, columns: Int
    /// B's bf16 values [k × n] as Float.
    private let packed: Buffer<Float>
    private let rounded: Buffer<UInt16>
    private let a: Buffer<Float>

    init(rows m: Int, inner k: Int, columns n: Int) {
        rows = m
        inner = k
        columns = n
        packed = Buffer(count: k * n)
        rounded = Buffer(count: max(k * n, m * k))
        a = Buffer(count: m * k)
    }

    var bytes: Int { packed.bytes + rounded.bytes + a.bytes }

    func pack(b: UnsafePointer<Float>, ldb: Int, transposed: Bool) {
        let (r, c) = transposed ? (columns, inner) : (inner, columns)
        BF16.round(rows: r, cols: c, b, lds: ldb, into: rounded.base, ldd: c)
        if transposed {
            for i in 0..<inner { for j in 0..<columns { packed[i * columns + j] = BF16.widen(rounded[j * inner + i]) } }
        } else {
            BF16.widen(rows: r, cols: c, rounded.base, lds: c, into: packed.base, ldd: c)
        }
    }

    func multiply(a x: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float) {
        BF16.round(rows: rows, cols: inner, x, lds: lda, into: rounded.base, ldd: inner)
        BF16.widen(rows: rows, cols: inner, rounded.base, lds: inner, into: a.base, ldd: inner)
        Kernels.gemm(transA: false, transB: false, m: rows, n: columns, k: inner, alpha: 1, a: a.base, lda: inner,
                     b: packed.base, ldb: columns, beta: beta, c: c, ldc: ldc)
    }
}
