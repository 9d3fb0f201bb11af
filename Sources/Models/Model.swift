import Dispatch
import Numerics

/// A language model over a chunk of τ steps: embedding, recurrent stack (or the windowed MLP),
/// decoder, softmax cross-entropy. Parameters and gradients are two flat buffers laid out by
/// `layout`; backward adds into `gradients` and `zeroGradients` clears them, so micro-batches
/// accumulate.
public final class Model<T: Real> {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let stateLayout: StateLayout
    public let parameters: Buffer<T>
    public let gradients: Buffer<T>
    private var workspace: Workspace<T>?
    private var zeroState = Buffer<T>(count: 0)
    private var usedDropout = false
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

    public init(config: ModelConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        stateLayout = StateLayout(config: config)
        parameters = Buffer(count: layout.count)
        gradients = Buffer(count: layout.count)
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
        let start = DispatchTime.now().uptimeNanoseconds
        let loss = try forward(batch, initialState: initialState, dropout: dropout, training: true)
        let middle = DispatchTime.now().uptimeNanoseconds
        backward(batch, initialStateGradient: initialStateGradient)
        let end = DispatchTime.now().uptimeNanoseconds
        timing.forward += Double(middle - start) * 1e-9
        timing.backward += Double(end - middle) * 1e-9
        return loss
    }

    /// Bytes of the activation arena of the last pass.
    public var workspaceBytes: Int { workspace?.bytes ?? 0 }

    private func prepare(steps: Int, sequences: Int) -> Workspace<T> {
        if let ws = workspace, ws.steps == steps, ws.sequences == sequences { return ws }
        let ws = Workspace<T>(config: config, layout: layout, steps: steps, sequences: sequences)
        workspace = ws
        zeroState = Buffer(count: sequences * stateLayout.width)
        return ws
    }

    private func offset(_ name: String) -> Int { layout[name].offset }

    /// Input of recurrent layer l [τ·n × inputSize(l)].
    private func layerInput(_ l: Int, _ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        if usedDropout { return ws.dropout[l].output.base }
        return l == 0 ? ws.embedded.base : layerOutput(l - 1, ws)
    }

    /// Output of recurrent layer l [τ·n × h·dirs].
    private func layerOutput(_ l: Int, _ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        config.bidirectional ? ws.concatenated[l].base : ws.directions[l][0].output
    }

    /// What the decoder reads [τ·n × decoderInput].
    private func decoderInput(_ ws: Workspace<T>) -> UnsafeMutablePointer<T> {
        if usedDropout { return ws.dropout.last!.output.base }
        return config.cell == .mlp ? ws.hiddenLayer.base : layerOutput(config.layers - 1, ws)
    }

    private func forward(_ batch: Batch, initialState: Buffer<T>?, dropout: DropoutKey?, training: Bool) throws -> LossSum {
        try batch.validate(config: config)
        let n = batch.sequences, rows = batch.steps * n
        if let s = initialState, s.count != n * stateLayout.width {
            throw ModelError.shapeMismatch("initial state has \(s.count) entries, n × state width = \(n * stateLayout.width)")
        }
        let ws = prepare(steps: batch.steps, sequences: n)
        usedDropout = training && config.dropout > 0 && dropout != nil
        let p = parameters.base
        let applyDropout = { (site: Int, x: UnsafePointer<T>, ldx: Int) in
            ws.dropout[site].forward(x, ldx: ldx, steps: batch.steps, sequences: n, firstSequence: batch.firstSequence,
                                     key: dropout!, p: self.config.dropout, rowKeys: ws.rowKeys)
        }
        if config.cell == .mlp {
            fillContextTokens(batch, ws)
            let E = config.embedding, k = config.context, H = config.hidden
            T.embeddingForward(rows: rows * k, width: E, table: p + offset("encoder.weight"),
                               tokens: ws.contextTokens.base, out: ws.embedded.base, ldout: E)
            if usedDropout { applyDropout(0, ws.embedded.base, k * E) }
            let x = usedDropout ? ws.dropout[0].output.base : ws.embedded.base
            gemm(transA: false, transB: true, m: rows, n: H, k: k * E, alpha: 1, a: x, lda: k * E,
                 b: p + offset("hidden.weight"), ldb: k * E, beta: 0, c: ws.hiddenLayer.base, ldc: H)
            T.actForward(rows: rows, width: H, relu: config.activation == .relu, pre: ws.hiddenLayer.base,
                         bias: p + offset("hidden.bias"), out: ws.hiddenLayer.base)
            if usedDropout { applyDropout(1, ws.hiddenLayer.base, H) }
        } else {
            batch.inputs.withUnsafeBufferPointer { tokens in
                T.embeddingForward(rows: rows, width: config.embedding, table: p + offset("encoder.weight"),
                                   tokens: tokens.baseAddress!, out: ws.embedded.base, ldout: config.embedding)
            }
            if usedDropout { applyDropout(0, ws.embedded.base, config.embedding) }
            let initial = initialState ?? zeroState
            let width = stateLayout.width, h = config.hidden, D = config.decoderInput
            for l in 0..<config.layers {
                let x = layerInput(l, ws)
                for (k, direction) in ws.directions[l].enumerated() {
                    let column = stateLayout.offset(layer: l, direction: k)
                    direction.loadInitialState(initial.base + column, ld: width)
                    direction.forward(parameters: p, x: x, ldx: config.inputSize(layer: l))
                    direction.storeFinalState(ws.finalState.base + column, ld: width)
                    if config.bidirectional {
                        T.copyRows(rows: rows, cols: h, src: direction.output, lds: h,
                                   dst: ws.concatenated[l].base + k * h, ldd: D)
                    }
                }
                if usedDropout { applyDropout(l + 1, layerOutput(l, ws), D) }
            }
        }
        let V = config.vocabulary, D = config.decoderInput
        gemm(transA: false, transB: true, m: rows, n: V, k: D, alpha: 1, a: decoderInput(ws), lda: D,
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
        gemm(transA: true, transB: false, m: V, n: D, k: rows, alpha: 1, a: ws.logits.base, lda: V,
             b: z, ldb: D, beta: 1, c: g + offset("decoder.weight"), ldc: D)
        var finished = 0
        let finish = { (end: Int) in
            if end > finished { self.observer?.ready(finished..<end) }
            finished = max(finished, end)
        }
        finish(config.cell == .mlp ? offset("hidden.weight") : storageStart(layer: config.layers - 1))
        var dy = ws.gradientA, dx = ws.gradientB
        // In blocks of rows with polls between, so the decoder's sum advances meanwhile.
        let block = observer == nil ? rows : max(64, rows / 8)
        for start in stride(from: 0, to: rows, by: block) {
            gemm(transA: false, transB: false, m: min(block, rows - start), n: D, k: V, alpha: 1,
                 a: ws.logits.base + start * V, lda: V, b: p + offset("decoder.weight"), ldb: D, beta: 0,
                 c: dy.base + start * D, ldc: D)
            observer?.poll()
        }
        if usedDropout { ws.dropout.last!.backward(dy.base, rows: rows) }

        if config.cell == .mlp {
            let E = config.embedding, k = config.context, H = config.hidden
            T.actBackward(n: rows, h: H, relu: config.activation == .relu, out: ws.hiddenLayer.base,
                          dup: dy.base, ldup: H, drec: nil, dpre: dy.base)
            let x = usedDropout ? ws.dropout[0].output.base : ws.embedded.base
            gemm(transA: true, transB: false, m: H, n: k * E, k: rows, alpha: 1, a: dy.base, lda: H,
                 b: x, ldb: k * E, beta: 1, c: g + offset("hidden.weight"), ldc: k * E)
            T.columnSumAdd(rows: rows, cols: H, x: dy.base, ld: H, out: g + offset("hidden.bias"))
            gemm(transA: false, transB: false, m: rows, n: k * E, k: H, alpha: 1, a: dy.base, lda: H,
                 b: p + offset("hidden.weight"), ldb: k * E, beta: 0, c: dx.base, ldc: k * E)
            finish(offset("encoder.weight"))
            if usedDropout { ws.dropout[0].backward(dx.base, rows: rows) }
            T.embeddingBackward(rows: rows * k, width: E, dtable: g + offset("encoder.weight"),
                                tokens: ws.contextTokens.base, dout: dx.base, lddout: E)
            finish(layout.count)
            return
        }

        let h = config.hidden, width = stateLayout.width
        for l in (0..<config.layers).reversed() {
            let d = config.inputSize(layer: l)
            let x = layerInput(l, ws)
            for (k, direction) in ws.directions[l].enumerated() {
                direction.backward(parameters: p, gradients: g, x: x, ldx: d, dy: dy.base + k * h, ldy: D,
                                   poll: observer?.poll)
                if let target = initialStateGradient {
                    direction.storeInitialStateGradient(target.base + stateLayout.offset(layer: l, direction: k), ld: width)
                }
            }
            // The layer's weights are final before its input gradient is computed, so their sum
            // can run during that GEMM.
            finish(l > 0 ? storageStart(layer: l - 1) : offset("encoder.weight"))
            for (k, direction) in ws.directions[l].enumerated() {
                direction.inputGradient(parameters: p, dx: dx.base, lddx: d, accumulate: k > 0, poll: observer?.poll)
            }
            observer?.poll()
            if usedDropout { ws.dropout[l].backward(dx.base, rows: rows) }
            swap(&dy, &dx)
        }
        batch.inputs.withUnsafeBufferPointer { tokens in
            T.embeddingBackward(rows: rows, width: config.embedding, dtable: g + offset("encoder.weight"),
                                tokens: tokens.baseAddress!, dout: dy.base, lddout: config.embedding)
        }
        finish(layout.count)
    }

    /// Where recurrent layer l's tensors begin in storage (its directions are stored together).
    private func storageStart(layer l: Int) -> Int {
        (0..<config.directions).map { offset("rnn.weight_ih_\(ParameterLayout.suffix(layer: l, direction: $0))") }.min()!
    }

    /// The MLP's k input tokens for each row (t, i): tokens t−k+1 ... t, reaching into the
    /// history before the chunk, −1 (a zero embedding) before the sequence began.
    private func fillContextTokens(_ batch: Batch, _ ws: Workspace<T>) {
        let n = batch.sequences, k = config.context
        for t in 0..<batch.steps {
            for i in 0..<n {
                let base = (t * n + i) * k
                for j in 0..<k {
                    let s = t - (k - 1) + j
                    let token: Int32
                    if s >= 0 {
                        token = batch.inputs[s * n + i]
                    } else if let history = batch.history {
                        token = history[(s + k - 1) * n + i]
                    } else {
                        token = -1
                    }
                    ws.contextTokens[base + j] = token
                }
            }
        }
    }
}

private func withOptionalPointer<R>(_ array: [UInt8]?, _ body: (UnsafePointer<UInt8>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
