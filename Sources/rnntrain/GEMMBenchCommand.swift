import ArgumentParser
import Clock
import Files
import Foundation
import Kernels

/// `rnntrain gemm-bench`: the products of a training step on OpenBLAS, called as the model
/// calls it today, against oneDNN with B packed once per chunk (`PackedMatmul`, fp32 and bf16),
/// at the bench configs' shapes. The engines alternate within each repetition, so a change in
/// the machine's load reaches all three alike; the best repetition of each is reported.
struct GEMMBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-bench",
        abstract: "Time OpenBLAS against packed oneDNN (fp32, bf16) at a step's GEMM shapes (use a release build).")

    @Option(parsing: .unconditional, help: "Timed repetitions per engine and shape, after one untimed; the best is reported.")
    var repetitions = 5

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be ≥ 1, got \(repetitions)") }
    }

    func run() throws {
        try StandardOutput.line("gemm-bench: best of \(repetitions), engines alternating; OpenBLAS core \(openBLASCoreName), "
              + "\(openBLASThreads) thread\(openBLASThreads == 1 ? "" : "s"); oneDNN one thread")
        try StandardOutput.line("GFLOP/s of a chunk's products, its packing included (OpenBLAS: the model's padded transposed copy of W)")
        try StandardOutput.line("| shape | m × n × k | products per pack | OpenBLAS | oneDNN fp32 | oneDNN bf16 | fp32 × | bf16 × | pack ms OpenBLAS / fp32 / bf16 |")
        try StandardOutput.line("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        var kernels: [String] = []
        for shape in GEMMBenchShape.all {
            let r = try measure(shape)
            let rates = r.map { Double(shape.uses) * shape.flops / $0.total / 1e9 }
            try StandardOutput.line("| \(shape.name) | \(shape.m) × \(shape.n) × \(shape.k) | \(shape.uses) | "
                  + rates.map { String(format: "%.1f", $0) }.joined(separator: " | ")
                  + String(format: " | %.2f | %.2f | ", rates[1] / rates[0], rates[2] / rates[0])
                  + r.map { String(format: "%.2f", $0.pack * 1e3) }.joined(separator: " / ") + " |")
            kernels.append("\(shape.name): " + r.dropFirst().map { "\($0.kernel) (set up in \(String(format: "%.1f", $0.setup * 1e3)) ms)" }
                .joined(separator: ", "))
        }
        try StandardOutput.line("oneDNN kernels, fp32 and bf16 (PackedMatmul.init: engine, layout choice and the two contiguous products):")
        for line in kernels { try StandardOutput.line("  " + line) }
        try measureGeneralProducts()
    }

    /// The step's other products, each once per step on operands that change every step: OpenBLAS
    /// in fp32 against `BF16Products` on oneDNN, its rounding of the operands included (the
    /// weights are read from the parameters' bf16 copy, rounded once per pass and not timed).
    private func measureGeneralProducts() throws {
        try StandardOutput.line("")
        try StandardOutput.line("GFLOP/s of the step's general products (lstm-2x512: B 64 × τ 100 rows, G·h 2048, h 512, V 65)")
        try StandardOutput.line("| product | m × n × k | OpenBLAS fp32 | oneDNN bf16 | bf16 × | oneDNN kernel |")
        try StandardOutput.line("| --- | --- | --- | --- | --- | --- |")
        for p in GeneralProduct.all {
            var random = SplitMix64(seed: 2)
            func filled(_ count: Int) -> Buffer<Float> {
                let b = Buffer<Float>(count: count)
                for i in 0..<count { b[i] = Float(random.uniform(1)) }
                return b
            }
            let a = filled(p.m * p.k), c = filled(p.m * p.n), parameters = filled(p.k * p.n)
            let lda = p.transA ? p.m : p.k, ldb = p.transB ? p.k : p.n
            // The weight operand lies in the parameter buffer, as in the model; activations do not.
            let b = p.bIsWeight ? parameters : filled(p.k * p.n)
            let bf16 = try BF16Products(parameters: parameters.base, count: parameters.count, engine: .onednn)
            bf16.roundParameters()
            let kernel = bf16.implementation(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k)
            let beta: Float = p.accumulate ? 1 : 0
            let engines: [() -> Void] = [
                { gemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, alpha: 1, a: a.base, lda: lda,
                       b: b.base, ldb: ldb, beta: beta, c: c.base, ldc: p.n) },
                { bf16.gemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, a: a.base, lda: lda,
                            b: b.base, ldb: ldb, beta: beta, c: c.base, ldc: p.n) },
            ]
            var best = [Double](repeating: .infinity, count: engines.count)
            for repetition in 0...repetitions {
                for (e, engine) in engines.enumerated() {
                    let start = ContinuousClock.now
                    engine()
                    let seconds = start.secondsAgo
                    if repetition > 0 { best[e] = min(best[e], seconds) }
                }
            }
            let flops = 2 * Double(p.m) * Double(p.n) * Double(p.k)
            let rates = best.map { flops / $0 / 1e9 }
            try StandardOutput.line("| \(p.name) | \(p.m) × \(p.n) × \(p.k) | " + rates.map { String(format: "%.1f", $0) }.joined(separator: " | ")
                  + String(format: " | %.2f | ", rates[1] / rates[0]) + kernel + " |")
        }
    }

    /// Best times of each engine: OpenBLAS, oneDNN fp32, oneDNN bf16.
    private func measure(_ shape: GEMMBenchShape) throws -> [(total: Double, pack: Double, kernel: String, setup: Double)] {
        let (m, n, k, uses) = (shape.m, shape.n, shape.k, shape.uses)
        var random = SplitMix64(seed: 1)
        func filled(_ count: Int) -> Buffer<Float> {
            let b = Buffer<Float>(count: count)
            for i in 0..<count { b[i] = Float(random.uniform(1)) }
            return b
        }
        // W as the model stores it, [n × k] (W_hh [G·h × h], W_ih [G·h × d]); a distinct A and C
        // per product, as the steps of a chunk read h_{t-1} and write their own gate rows.
        let w = filled(n * k), a = filled(uses * m * k), c = filled(uses * m * n)
        let stride = paddedStride(n), copy = Buffer<Float>(count: shape.recurrent && m > 1 ? k * stride : 0)
        let beta: Float = shape.recurrent ? 1 : 0
        var engines: [GEMMBenchEngine] = []
        engines.append(GEMMBenchEngine(kernel: "OpenBLAS", setup: 0, pack: {
            // RecurrentDirection.forward: one sequence reads W_hh as stored (GEMV), more the padded W_hhᵀ.
            if shape.recurrent && m > 1 { Float.transpose(rows: n, cols: k, src: w.base, lds: k, dst: copy.base, ldd: stride) }
        }, product: { t in
            let direct = !(shape.recurrent && m > 1)
            gemm(transA: false, transB: direct, m: m, n: n, k: k, alpha: 1, a: a.base + t * m * k, lda: k,
                 b: direct ? w.base : copy.base, ldb: direct ? k : stride, beta: beta, c: c.base + t * m * n, ldc: n)
        }))
        for precision in MatmulPrecision.allCases {
            let start = ContinuousClock.now
            let p = try PackedMatmul(rows: m, inner: k, columns: n, precision: precision)
            let setup = start.secondsAgo
            engines.append(GEMMBenchEngine(kernel: p.implementation, setup: setup, pack: {
                p.pack(b: w.base, ldb: k, transposed: true)
            }, product: { t in
                p.multiply(a: a.base + t * m * k, lda: k, c: c.base + t * m * n, ldc: n, beta: beta)
            }))
        }
        var best = [(total: Double, pack: Double)](repeating: (.infinity, .infinity), count: engines.count)
        for repetition in 0...repetitions {
            for (e, engine) in engines.enumerated() {
                let start = ContinuousClock.now
                engine.pack()
                let packed = ContinuousClock.now
                for t in 0..<uses { engine.product(t) }
                let end = ContinuousClock.now
                guard repetition > 0 else { continue }
                best[e].total = min(best[e].total, (end - start).seconds)
                best[e].pack = min(best[e].pack, (packed - start).seconds)
            }
        }
        return zip(engines, best).map { ($1.total, $1.pack, $0.kernel, $0.setup) }
    }
}

/// One way of computing a chunk's products: `pack` once, then `product(t)` for each of its uses.
private struct GEMMBenchEngine {
    let kernel: String
    /// Seconds to create it (oneDNN's primitives).
    let setup: Double
    let pack: () -> Void
    let product: (Int) -> Void
}

/// One of the step's products as the model calls `gemm`: C [m × n] (+)= op(A) · op(B).
private struct GeneralProduct {
    let name: String
    let transA: Bool, transB: Bool
    let m: Int, n: Int, k: Int
    /// B is a weight (read from the parameters' bf16 copy in bf16).
    let bIsWeight: Bool
    let accumulate: Bool

    /// lstm-2x512's second layer and decoder: rows 6400, G·h 2048, d = h = 512, V 65.
    static let all = [
        GeneralProduct(name: "input projection x·W_ihᵀ", transA: false, transB: true, m: 6400, n: 2048, k: 512,
                       bIsWeight: true, accumulate: false),
        GeneralProduct(name: "∂W_ih or ∂W_hh += dgatesᵀ·x", transA: true, transB: false, m: 2048, n: 512, k: 6400,
                       bIsWeight: false, accumulate: true),
        GeneralProduct(name: "∂x = dgates·W_ih", transA: false, transB: false, m: 6400, n: 512, k: 2048,
                       bIsWeight: true, accumulate: false),
        GeneralProduct(name: "∂x, one of 8 blocks (overlapping the sum)", transA: false, transB: false, m: 800, n: 512,
                       k: 2048, bIsWeight: true, accumulate: false),
        GeneralProduct(name: "decoder logits = y·W_decᵀ", transA: false, transB: true, m: 6400, n: 65, k: 512,
                       bIsWeight: true, accumulate: false),
        GeneralProduct(name: "decoder ∂W_dec += ∂logitsᵀ·y", transA: true, transB: false, m: 65, n: 512, k: 6400,
                       bIsWeight: false, accumulate: true),
        GeneralProduct(name: "decoder ∂y = ∂logits·W_dec", transA: false, transB: false, m: 6400, n: 512, k: 65,
                       bIsWeight: true, accumulate: false),
    ]
}

/// C [m × n] (+)= A [m × k] · op(W), W [n × k] stored as the model stores its weights.
private struct GEMMBenchShape {
    let name: String
    let m: Int, n: Int, k: Int
    /// Products per packing of W: τ for a recurrent product (W_hh is the same for a chunk's
    /// steps), 1 for the input projection (W_ih changes every optimizer step, used once per forward).
    let uses: Int
    /// The per-step recurrent product (beta 1, into gates holding the projection), or the input
    /// projection (beta 0).
    let recurrent: Bool

    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// configs/bench: lstm-2x512 and rnn-2x512 (B 64, τ 100, h 512), lstm-2x256 (B 32, τ 64,
    /// h 256); the projection of all τ·B rows; one sequence, as deterministic groups of one run it.
    static let all = [
        GEMMBenchShape(name: "lstm-2x512 step", m: 64, n: 2048, k: 512, uses: 100, recurrent: true),
        GEMMBenchShape(name: "lstm-2x256 step", m: 32, n: 1024, k: 256, uses: 64, recurrent: true),
        GEMMBenchShape(name: "rnn-2x512 step", m: 64, n: 512, k: 512, uses: 100, recurrent: true),
        GEMMBenchShape(name: "input projection", m: 6400, n: 2048, k: 640, uses: 1, recurrent: false),
        GEMMBenchShape(name: "lstm-2x512 step, one sequence", m: 1, n: 2048, k: 512, uses: 100, recurrent: true),
    ]
}
