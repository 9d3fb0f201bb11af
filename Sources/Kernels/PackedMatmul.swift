import CDNNL

/// The operand precision of a `PackedMatmul`. Both accumulate in fp32 and write fp32.
public enum MatmulPrecision: String, CaseIterable, Sendable {
    /// fp32 operands.
    case fp32
    /// A and B rounded to bfloat16, to nearest with ties to even (oneDNN's conversion; it also
    /// flushes subnormal values to zero): B once per `pack`, A on every product. Products of two
    /// bf16 values are exact in fp32, so only the fp32 sums round. The gain is speed: 4.1–4.7×
    /// oneDNN's fp32 at the step shapes on this machine's AMX (docs/performance.md, GEMM engines), about 2× on
    /// the AVX-512 BF16 of an AMD Zen 4 (measured peaks of one core: fp32 FMA 116.7, `vdpbf16ps` 232.7 GFLOP/s).
    case bf16

    var dnnlType: dnnl_data_type_t { self == .fp32 ? dnnl_f32 : dnnl_bf16 }
}

/// C [m × n] = A [m × k] · B [k × n], or C += A·B, on oneDNN's matmul with B packed once into
/// the layout oneDNN chooses for this shape (`format_tag_any`) and reused by every product until
/// the next `pack`. That is the shape of a step's recurrent products, τ of them on the same
/// W_hhᵀ, where OpenBLAS repacks W_hh inside every call. Measured by `rnntrain gemm-bench` with
/// one thread at [64 × 512]·[512 × 2048] (lstm-2x512's step, W_hh packed once per 100
/// products), GFLOP/s OpenBLAS sgemm (SkylakeX kernels) / fp32 here / bf16 here:
/// 117.9 / 132.9 / 618.3 (docs/performance.md, GEMM engines).
///
/// Float only: Double, for the gradient check and the tests, stays on OpenBLAS (`gemm`).
/// m, k and n are fixed per instance, because the packed layout depends on all three; A and C
/// may have any row strides. Every primitive is created once and kept (an instance's engine,
/// layout choice and two primitives took 0.4–3.8 ms in gemm-bench, as long as 1 to about 30 of
/// its step products): a product of each (lda, ldc, beta) and a packing of each (ldb,
/// transposed) on first use, the contiguous products in `init`, so a shape or precision this
/// CPU cannot compute throws there. After that, `pack` and `multiply` only aim the memories at
/// the caller's data and execute (the scratchpad is the instance's own), on the calling thread
/// alone. Not for concurrent use.
public final class PackedMatmul {
    /// m: rows of A and C.
    public let rows: Int
    /// k: columns of A, rows of B.
    public let inner: Int
    /// n: columns of B and C.
    public let columns: Int
    public let precision: MatmulPrecision
    /// oneDNN's name for the product kernel it chose, e.g. "brg:avx512_core_bf16".
    public let implementation: String

    private let engine: DNNLEngine
    /// B [k × n] in the layout and type oneDNN chose, filled by `pack`.
    private let packedLayout: dnnl_memory_desc_t
    private let packed: DNNLMemory
    /// bf16: A [m × k] rounded to bf16, contiguous, written before every product.
    private let roundedLayout: dnnl_memory_desc_t
    private let roundedA: DNNLMemory?
    private var products: [ProductKey: Product] = [:]
    private var packings: [PackingKey: Packing] = [:]
    private var isPacked = false

    private struct ProductKey: Hashable { let lda: Int, ldc: Int, accumulate: Bool }
    private struct PackingKey: Hashable { let ldb: Int, transposed: Bool }

    /// The primitives of one (lda, ldc, beta): views of the caller's A and C, the bf16 rounding
    /// of A, and the matmul.
    private struct Product {
        let a: DNNLMemory
        let c: DNNLMemory
        let rounding: DNNLPrimitive?
        let matmul: DNNLPrimitive
    }

    /// The reorder of one (ldb, transposed) from the caller's B into `packed`.
    private struct Packing {
        let b: DNNLMemory
        let reorder: DNNLPrimitive
    }

    /// Throws `DNNLError` when oneDNN has no kernel for the shape or precision on this CPU
    /// (bf16 needs AVX-512).
    public init(rows m: Int, inner k: Int, columns n: Int, precision: MatmulPrecision) throws {
        precondition(m > 0 && k > 0 && n > 0, "PackedMatmul: empty product [\(m) × \(k)]·[\(k) × \(n)]")
        rk_dnnl_one_thread()
        rows = m
        inner = k
        columns = n
        self.precision = precision
        engine = try DNNLEngine()
        let type = precision.dnnlType
        // The layout oneDNN prefers for B when A is contiguous [m × k] in the operand type.
        let chosen = try DNNLPrimitiveDescriptor(
            matmulOf: matrixDescriptor(rows: m, cols: k, ld: k, type: type),
            weights: anyLayoutDescriptor(rows: k, cols: n, type: type),
            dst: matrixDescriptor(rows: m, cols: n, ld: n, type: dnnl_f32), accumulate: false, engine: engine)
        packedLayout = chosen.descriptor(dnnl_query_weights_md)
        implementation = chosen.implementation
        packed = try DNNLMemory(packedLayout, engine: engine, owned: true)
        roundedLayout = try matrixDescriptor(rows: m, cols: k, ld: k, type: dnnl_bf16)
        roundedA = try precision == .bf16 ? DNNLMemory(roundedLayout, engine: engine, owned: true) : nil
        for accumulate in [false, true] {
            let key = ProductKey(lda: k, ldc: n, accumulate: accumulate)
            products[key] = try makeProduct(key)
        }
    }

    /// Packs B [k × n] with row stride ldb, or with `transposed` B given as Bᵀ [n × k] with row
    /// stride ldb: W_hh [G·h × h] as stored, for the product h_{t-1} W_hhᵀ. bf16 rounds B here.
    public func pack(b: UnsafePointer<Float>, ldb: Int, transposed: Bool) {
        precondition(ldb >= (transposed ? inner : columns), "PackedMatmul.pack: ldb \(ldb) below the row width")
        let key = PackingKey(ldb: ldb, transposed: transposed)
        let packing: Packing
        if let known = packings[key] {
            packing = known
        } else {
            do { packing = try makePacking(key) } catch { preconditionFailure("PackedMatmul.pack: \(error)") }
            packings[key] = packing
        }
        rk_dnnl_one_thread()
        packing.b.point(at: b)
        packing.reorder.run()
        isPacked = true
    }

    /// C [m × n] (row stride ldc) = A [m × k] (row stride lda) · B with beta 0, where C is only
    /// written, or C += A·B with beta 1; B is the one last packed. Columns of C beyond n are left alone.
    public func multiply(a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float) {
        precondition(beta == 0 || beta == 1, "PackedMatmul.multiply: beta must be 0 or 1, not \(beta)")
        precondition(isPacked, "PackedMatmul.multiply before pack")
        precondition(lda >= inner && ldc >= columns, "PackedMatmul.multiply: lda \(lda) or ldc \(ldc) below the row width")
        let key = ProductKey(lda: lda, ldc: ldc, accumulate: beta == 1)
        let product: Product
        if let known = products[key] {
            product = known
        } else {
            do { product = try makeProduct(key) } catch { preconditionFailure("PackedMatmul.multiply: \(error)") }
            products[key] = product
        }
        rk_dnnl_one_thread()
        product.a.point(at: a)
        product.c.point(at: c)
        // The stream is in order: the matmul reads A's rounding after it is written.
        product.rounding?.run(wait: false)
        product.matmul.run()
    }

    /// Bytes of packed B and of rounded A (the primitives' scratchpads aside).
    public var bytes: Int {
        var layout = packedLayout, rounded = roundedLayout
        return dnnl_memory_desc_get_size(&layout) + (roundedA == nil ? 0 : dnnl_memory_desc_get_size(&rounded))
    }

    private func makeProduct(_ key: ProductKey) throws -> Product {
        let source = try matrixDescriptor(rows: rows, cols: inner, ld: key.lda, type: dnnl_f32)
        let destination = try matrixDescriptor(rows: rows, cols: columns, ld: key.ldc, type: dnnl_f32)
        let a = try DNNLMemory(source, engine: engine, owned: false)
        let c = try DNNLMemory(destination, engine: engine, owned: false)
        var rounding: DNNLPrimitive?
        var operand = (layout: source, memory: a)
        if let roundedA {
            rounding = try DNNLPrimitive(DNNLPrimitiveDescriptor(reorderFrom: source, to: roundedLayout, engine: engine),
                                         arguments: [(Int32(DNNL_ARG_FROM), a), (Int32(DNNL_ARG_TO), roundedA)], engine: engine)
            operand = (roundedLayout, roundedA)
        }
        let descriptor = try DNNLPrimitiveDescriptor(matmulOf: operand.layout, weights: packedLayout, dst: destination,
                                                     accumulate: key.accumulate, engine: engine)
        let matmul = try DNNLPrimitive(descriptor, arguments: [(Int32(DNNL_ARG_SRC), operand.memory),
                                                               (Int32(DNNL_ARG_WEIGHTS), packed),
                                                               (Int32(DNNL_ARG_DST), c)], engine: engine)
        return Product(a: a, c: c, rounding: rounding, matmul: matmul)
    }

    private func makePacking(_ key: PackingKey) throws -> Packing {
        let source = try matrixDescriptor(rows: inner, cols: columns, ld: key.ldb, transposed: key.transposed, type: dnnl_f32)
        let b = try DNNLMemory(source, engine: engine, owned: false)
        let reorder = try DNNLPrimitive(DNNLPrimitiveDescriptor(reorderFrom: source, to: packedLayout, engine: engine),
                                        arguments: [(Int32(DNNL_ARG_FROM), b), (Int32(DNNL_ARG_TO), packed)], engine: engine)
        return Packing(b: b, reorder: reorder)
    }
}
