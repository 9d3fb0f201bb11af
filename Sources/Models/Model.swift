import Clock
import Kernels
import ModelSpec

/// A language model over a chunk of τ steps: embedding, recurrent stack (or the windowed MLP),
/// decoder, softmax cross-entropy. Parameters and gradients are two flat buffers laid out by
/// `layout`; backward adds into `gradients` and `zeroGradients` clears them, so micro-batches
/// accumulate.
public final class Model<T: Scalar> {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let stateLayout: StateLayout
    public let parameters: Buffer<T>
    public let gradients: Buffer<T>
    private var workspace: Workspace<T>?
    private var zeroState = Buffer<T>(count: 0)
    private var usedDropout = false
    /// The body's output of the last forward pass.
    private var bodyOutput: UnsafeMutablePointer<T>?
    /// Watches `train`'s backward pass, so a data-parallel caller can reduce finished gradients
    /// while the rest are still being computed.
    public struct BackwardObserver {
        /// A range of the gradient buffer (storage order) is final: the decoder first, then
        /// each layer from the top, the embedding last. The ranges cover the buffer once.
        public var ready: (Range<Int>) -> Void
        /// Called every few time steps, to let communication in flight advance.
        public var poll: () -> Void

        public init(ready: @escaping (Range<Int>) -> Void, poll: @escaping () -> Void) {
            self.ready = ready
            self.poll = poll
        }
    }

    /// Set for the backward passes to watch; nil for none.
    public var observer: BackwardObserver?

    /// Seconds spent in forward and backward passes of `train` since the last reset, for the
    /// benchmark's time split.
    public var timing = (forward: 0.0, backward: 0.0)

    /// The operand precision of the model's matrix products (`train.precision`); everything
    /// else, the parameters and gradients included, stays in T.
    public var precision: MatmulPrecision { products.precision }
    private let products: Products<T>

    /// Seconds spent rounding operands to bf16 and packing weights since the model was made,
    /// inside `timing`'s forward and backward (zero in fp32).
    public var conversionSeconds: Double { products.conversionSeconds }

    /// Which engine computes the products: "openblas" in fp32; in bf16 "onednn" on a CPU with
    /// bf16 instructions, else "emulated" (operands rounded, fp32 products on OpenBLAS).
    /// Bytes the bf16 products hold beside the arena: the parameters' bf16 copy, the rounded
    /// operands, W_hh's packed blocks (0 in fp32).
    public var productBytes: Int { products.bytes }

    public var productEngine: String { products.bf16?.engine.rawValue ?? "openblas" }

    /// The library kernels this model's products run on here, as a run records and compares them.
    public var kernels: ComputeKernels { .current(bf16Engine: products.bf16?.engine) }

    /// `bf16Engine` chooses the bf16 engine, nil for the fast one where the CPU has it.
    public init(config: ModelConfig, seed: UInt64 = 0, precision: MatmulPrecision = .fp32,
                bf16Engine: BF16Products.Engine? = nil) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        stateLayout = StateLayout(config: config)
        parameters = Buffer(count: layout.count)
        gradients = Buffer(count: layout.count)
        products = try Products(precision: precision, parameters: parameters, engine: bf16Engine)
        layout.initialize(parameters, config: config, seed: seed)
    }

    public func zeroGradients() { gradients.zero() }

    /// The state after the last forward pass [n × stateLayout.width].
    public var finalState: Buffer<T> { workspace?.finalState ?? zeroState }

    /// Logits of the last `evaluate` [τ·n × V], time-major (after `train` they hold ∂loss/∂logits).
    public var logits: UnsafeBufferPointer<T> {
        guard let ws = workspace else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: ws.logits.base, count: ws.logits.count)
    }

    /// Loss over the batch without keeping anything for backward and without dropout.
    public func evaluate(_ batch: Batch, initialState: Buffer<T>? = nil) throws -> LossSum {
        try forward(batch, initialState: initialState, dropout: nil, training: false)
    }

    /// Forward and backward: returns the summed loss and adds its gradient into `gradients`.
    /// With `initialStateGradient` [n × stateLayout.width], also writes ∂loss/∂initial state.
    public func train(_ batch: Batch, initialState: Buffer<T>? = nil, dropout: DropoutKey? = nil,
                      initialStateGradient: Buffer<T>? = nil) throws -> LossSum {
        if let g = initialStateGradient, g.count != batch.sequences * stateLayout.width {
            throw ModelError.shapeMismatch("initial state gradient has \(g.count) entries, n × state width = \(batch.sequences * stateLayout.width)")
        }
        let start = ContinuousClock.now
        let loss = try forward(batch, initialState: initialState, dropout: dropout, training: true)
        let middle = ContinuousClock.now
        backward(batch, initialStateGradient: initialStateGradient)
        let end = ContinuousClock.now
        timing.forward += (middle - start).seconds
        timing.backward += (end - middle).seconds
        return loss
    }

    /// Bytes of the activation arena of the last pass.
    public var workspaceBytes: Int { workspace?.bytes ?? 0 }

    private func prepare(steps: Int, sequences: Int) -> Workspace<T> {
        if let ws = workspace, ws.steps == steps, ws.sequences == sequences { return ws }
        // The old arena goes first: validation's short last chunk would otherwise hold both at
        // once, the peak of a whole run (27 MB above the steps' for a 2 × 256 LSTM, B = 32).
        workspace = nil
        let ws = Workspace<T>(config: config, layout: layout, steps: steps, sequences: sequences, products: products)
        workspace = ws
        zeroState = Buffer(count: sequences * stateLayout.width)
        return ws
    }

    private func offset(_ name: String) -> Int { layout[name].offset }

    /// What the decoder reads [τ·n × decoderInput].
    private func decoderInput(_ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        usedDropout ? ws.dropout.last!.output.base : bodyOutput!
    }

    private func forward(_ batch: Batch, initialState: Buffer<T>?, dropout: DropoutKey?, training: Bool) throws -> LossSum {
        try batch.validate(config: config)
        let n = batch.sequences, rows = batch.steps * n
        if let s = initialState, s.count != n * stateLayout.width {
            throw ModelError.shapeMismatch("initial state has \(s.count) entries, n × state width = \(n * stateLayout.width)")
        }
        let ws = prepare(steps: batch.steps, sequences: n)
        // The optimizer has changed the parameters since the last pass, or a caller has.
        products.bf16?.roundParameters()
        usedDropout = training && config.dropout > 0 && dropout != nil
        let p = parameters.base
        let applyDropout = { (site: Int, x: UnsafePointer<T>, ldx: Int) -> Void in
            ws.dropout[site].forward(x, ldx: ldx, steps: batch.steps, sequences: n, firstSequence: batch.firstSequence,
                                     key: dropout!, p: self.config.dropout, rowKeys: ws.rowKeys)
        }
        bodyOutput = ws.body.forward(batch, ws, parameters: p, initialState: initialState ?? zeroState,
                                     dropout: usedDropout ? applyDropout : nil)
        let V = config.vocabulary, D = config.decoderInput
        products.gemm(transA: false, transB: true, m: rows, n: V, k: D, a: decoderInput(ws), lda: D,
                      b: p + offset("decoder.weight"), ldb: D, beta: 0, c: ws.logits.base, ldc: V)
        // The softmax adds the decoder bias and, when training, accumulates its gradient.
        var result = LossSum()
        let biasGradient = training ? gradients.base + offset("decoder.bias") : nil
        result.loss = batch.targets.withUnsafeBufferPointer { targets in
            withOptionalPointer(batch.mask) { mask in
                T.softmaxCrossEntropy(rows: rows, vocabulary: V, logits: ws.logits.base, bias: p + offset("decoder.bias"),
                                      targets: targets.baseAddress!, mask: mask, gradient: training,
                                      biasGradient: biasGradient, count: &result.count, correct: &result.correct)
            }
        }
        return result
    }

    private func backward(_ batch: Batch, initialStateGradient: Buffer<T>?) {
        let ws = workspace!
        let rows = ws.rows
        let p = parameters.base, g = gradients.base
        let V = config.vocabulary, D = config.decoderInput
        // Decoder: ∂logits is in ws.logits.
        let z = decoderInput(ws)
        products.gemm(transA: true, transB: false, m: V, n: D, k: rows, a: ws.logits.base, lda: V,
                      b: z, ldb: D, beta: 1, c: g + offset("decoder.weight"), ldc: D)
        var finished = 0
        let finish = { (end: Int) in
            if end > finished { self.observer?.ready(finished..<end) }
            finished = max(finished, end)
        }
        finish(ws.body.storageStart)
        let dy = ws.gradientA, dx = ws.gradientB
        // In blocks of rows with polls between, so the decoder's sum advances meanwhile.
        let block = observer == nil ? rows : max(64, rows / 8)
        for start in stride(from: 0, to: rows, by: block) {
            products.gemm(transA: false, transB: false, m: min(block, rows - start), n: D, k: V,
                          a: ws.logits.base + start * V, lda: V, b: p + offset("decoder.weight"), ldb: D, beta: 0,
                          c: dy.base + start * D, ldc: D)
            observer?.poll()
        }
        if usedDropout { ws.dropout.last!.backward(dy.base, rows: rows) }

        ws.body.backward(batch, ws, parameters: p, gradients: g, dy: dy, dx: dx, usedDropout: usedDropout,
                         initialStateGradient: initialStateGradient, poll: observer?.poll, finish: finish)
        finish(layout.count)
    }
}

private func withOptionalPointer<R>(_ array: [UInt8]?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
