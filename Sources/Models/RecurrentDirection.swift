import Clock
import Kernels
import ModelSpec

/// One direction of one recurrent layer over a chunk of τ steps and n sequences: the scan over
/// time, forward or reverse, of its cell, where its weights live, and its activations, taken
/// once per (τ, n) from the arena so a step allocates nothing.
///
/// Hidden states sit in `states[0]` [(τ+1) × n × h] in time order with the initial state at the
/// end the direction starts from: forward h0 in slot 0 and h_t in slot t+1; reverse h_t in slot t
/// and h0 in slot τ. Either way the previous states of all steps, and the outputs of all steps,
/// are each one contiguous [τ·n × h] block: dW_hh is one GEMM, and a unidirectional layer's
/// output is read in place. Further state parts (the LSTM's c) are laid out the same way.
final class RecurrentDirection<T: Scalar> {
    let cell: any RecurrentCell
    let reverse: Bool
    let inputSize: Int
    let hidden: Int
    /// G·h.
    let gateWidth: Int
    let weightIH: Int, weightHH: Int, biasIH: Int, biasHH: Int
    let steps: Int
    let sequences: Int

    /// [τ × n × G·h]: pre-activations, then activations, in the cell's gate order.
    let gates: Buffer<T>
    /// ∂loss/∂pre-activations [τ × n × G·h]. The same memory as `gates`: each step's backward
    /// kernel reads the activations of a row and writes their gradient in their place, so the
    /// arena holds one such block, not two.
    var dgates: Buffer<T> { gates }
    /// The carried state's parts, each [(τ+1) × n × h]: h, then (LSTM) c.
    let states: [Buffer<T>]
    /// ∂loss/∂state part carried backward through time [n × h] each.
    let stateGradients: [Buffer<T>]
    /// The cell's own buffers, as `saved` of its type lists them.
    let saved: [Buffer<T>]
    /// W_hhᵀ [h × G·h] with rows padded to `transposedStride`, refreshed by each forward pass:
    /// OpenBLAS runs the per-step product h_{t-1} W_hhᵀ 7–15 % faster from this layout than with
    /// a transposed operand (measured at [32 × 256]·[256 × 1024] and [64 × 512]·[512 × 512]).
    /// Empty for one sequence, whose GEMV reads W_hh directly, and in bf16, whose products
    /// pack their own (`packedForward`).
    let transposedWeights: Buffer<T>
    let transposedStride: Int
    /// The bias the kernels add to the pre-activations [G·h]: b_ih + b_hh, or b_ih alone for a
    /// cell that places b_hh itself. Adding it in the kernel saves writing the whole
    /// [τ·n × G·h] block once more before the input projection.
    let bias: Buffer<T>
    /// Column sums of dgates [G·h], the gradient of both folded biases.
    let biasGradient: Buffer<T>
    /// W_hhᵀ of the current forward pass as the per-step products read it: the padded
    /// transposed copy, or W_hh itself for one sequence.
    private var recurrentWeights: UnsafePointer<T>?
    private var recurrentStride = 0
    let products: Products<T>
    /// bf16: W_hh's blocks packed for the per-step products, each packed once per pass (the
    /// forward pass and the backward pass count one each) on its first product and reused by the
    /// other τ − 1. Forward multiplies by column blocks of W_hhᵀ, keyed by their first column;
    /// backward by row blocks of W_hh, keyed by their first row (one block each for the LSTM
    /// and RNN, two for the GRU, whose reset splits the product).
    private var packedForward: [Int: PackedWeights] = [:]
    private var packedBackward: [Int: PackedWeights] = [:]
    private var pass = 0
    /// The parameters of the current pass, which the packed blocks are packed from.
    private var passParameters: UnsafePointer<T>?

    init(config: ModelConfig, layout: ParameterLayout, layer: Int, direction: Int, steps: Int, sequences: Int,
         arena: Arena<T>, prefix: String, products: Products<T>) {
        self.products = products
        let cellType = CellRegistry.cell(for: config)
        cell = cellType.init(config: config)
        reverse = direction == 1
        inputSize = config.inputSize(layer: layer)
        hidden = config.hidden
        gateWidth = cellType.gateCount * config.hidden
        let s = ParameterLayout.suffix(layer: layer, direction: direction)
        weightIH = layout["rnn.weight_ih_\(s)"].offset
        weightHH = layout["rnn.weight_hh_\(s)"].offset
        biasIH = layout["rnn.bias_ih_\(s)"].offset
        biasHH = layout["rnn.bias_hh_\(s)"].offset
        self.steps = steps
        self.sequences = sequences
        gates = arena.take(prefix + "gates")
        states = (0..<cellType.stateParts).map { arena.take(prefix + "state\($0)") }
        stateGradients = (0..<cellType.stateParts).map { arena.take(prefix + "dstate\($0)") }
        saved = cellType.saved(ScanShape(steps: steps, sequences: sequences, hidden: hidden)).map { arena.take(prefix + $0.name) }
        transposedStride = paddedStride(gateWidth)
        transposedWeights = arena.take(prefix + "transposedWeights")
        bias = arena.take(prefix + "bias")
        biasGradient = arena.take(prefix + "biasGradient")
    }

    var initialSlot: Int { reverse ? steps : 0 }
    var finalSlot: Int { reverse ? 0 : steps }
    @inline(__always) func previousSlot(_ t: Int) -> Int { reverse ? t + 1 : t }
    @inline(__always) func outputSlot(_ t: Int) -> Int { reverse ? t : t + 1 }
    @inline(__always) func slot(_ buffer: Buffer<T>, _ s: Int) -> UnsafeMutablePointer<T> {
        buffer.base + s * sequences * hidden
    }
    @inline(__always) func row(_ buffer: Buffer<T>, _ t: Int, width: Int) -> UnsafeMutablePointer<T> {
        buffer.base + t * sequences * width
    }

    /// Outputs h_t of all steps in time order, [τ·n × h] contiguous.
    var output: UnsafeMutablePointer<T> { slot(states[0], reverse ? 0 : 1) }
    /// Previous states h_{t-1} (h_{t+1} in reverse) of all steps in time order, [τ·n × h].
    var previous: UnsafeMutablePointer<T> { slot(states[0], reverse ? 1 : 0) }

    /// Copies the initial state's parts from a state matrix whose row i starts at `initial + i·ld`.
    func loadInitialState(_ initial: UnsafePointer<T>, ld: Int) {
        for (part, buffer) in states.enumerated() {
            T.copyRows(rows: sequences, cols: hidden, src: initial + part * hidden, lds: ld,
                       dst: slot(buffer, initialSlot), ldd: hidden)
        }
    }

    /// Copies the last step's state parts into a state matrix.
    func storeFinalState(_ final: UnsafeMutablePointer<T>, ld: Int) {
        for (part, buffer) in states.enumerated() {
            T.copyRows(rows: sequences, cols: hidden, src: slot(buffer, finalSlot), lds: hidden,
                       dst: final + part * hidden, ldd: ld)
        }
    }

    /// Copies ∂loss/∂initial state, left in `stateGradients` by `backward`, into a state matrix.
    func storeInitialStateGradient(_ target: UnsafeMutablePointer<T>, ld: Int) {
        for (part, buffer) in stateGradients.enumerated() {
            T.copyRows(rows: sequences, cols: hidden, src: buffer.base, lds: hidden, dst: target + part * hidden, ldd: ld)
        }
    }

    /// Runs the direction over the chunk. x: [τ·n × d] with leading dimension ldx.
    func forward(parameters p: UnsafePointer<T>, x: UnsafePointer<T>, ldx: Int) {
        let n = sequences, h = hidden, G = gateWidth
        // Input projection of all τ steps in one GEMM: gates = x W_ihᵀ (the kernels add the bias).
        let recurrentBias: UnsafePointer<T>? = type(of: cell).foldsRecurrentBias ? p + biasHH : nil
        T.biasRows(rows: 1, cols: G, out: bias.base, ld: G, b1: p + biasIH, b2: recurrentBias)
        products.gemm(transA: false, transB: true, m: steps * n, n: G, k: inputSize, a: x, lda: ldx,
                      b: p + weightIH, ldb: inputSize, beta: 0, c: gates.base, ldc: G)
        // bf16 packs blocks of W_hh on their first use; in fp32, one sequence makes each step a
        // GEMV, which reads W_hh [G × h] row by row as it is stored; more take GEMMs on its
        // padded transposed copy.
        beginPass(parameters: p)
        if products.bf16 != nil {
            recurrentWeights = nil
        } else if n == 1 {
            recurrentWeights = p + weightHH
            recurrentStride = h
        } else {
            T.transpose(rows: G, cols: h, src: p + weightHH, lds: h, dst: transposedWeights.base, ldd: transposedStride)
            recurrentWeights = UnsafePointer(transposedWeights.base)
            recurrentStride = transposedStride
        }
        for i in 0..<steps {
            let t = reverse ? steps - 1 - i : i
            cell.forward(Step(t: t, gates: row(gates, t, width: G), previous: slot(states[0], previousSlot(t)),
                              output: slot(states[0], outputSlot(t))), self, parameters: p)
        }
    }

    /// c [n × width] += a [n × h] · (W_hhᵀ's columns from `columns`), the per-step recurrent product.
    @inline(__always)
    func addRecurrentProduct(_ a: UnsafePointer<T>, columns: Int, width: Int, into c: UnsafeMutablePointer<T>, ldc: Int) {
        if products.bf16 != nil {
            let block = packed(&packedForward, key: columns, rows: sequences, inner: hidden, columns: width,
                               b: passParameters! + weightHH + columns * hidden, transposed: true)
            block.multiply(a: a.f32, lda: hidden, c: c.f32, ldc: ldc, beta: 1)
            return
        }
        let direct = sequences == 1, w = recurrentWeights!
        products.gemm(transA: false, transB: direct, m: sequences, n: width, k: hidden, a: a, lda: hidden,
                      b: direct ? w + columns * hidden : w + columns, ldb: recurrentStride, beta: 1, c: c, ldc: ldc)
    }

    /// Back-propagates through the chunk. dy: ∂loss/∂outputs [τ·n × h] with leading dimension
    /// ldy. Adds weight gradients into `gp`; leaves ∂loss/∂pre-activations in dgates for
    /// `inputGradient`, and ∂loss/∂initial state in `stateGradients`. The gradient arriving from
    /// beyond the chunk is zero: truncated BPTT. `poll` runs between time steps.
    func backward(parameters p: UnsafePointer<T>, gradients gp: UnsafeMutablePointer<T>,
                  x: UnsafePointer<T>, ldx: Int, dy: UnsafePointer<T>, ldy: Int, poll: (() -> Void)? = nil) {
        let n = sequences, G = gateWidth
        beginPass(parameters: p)
        for buffer in stateGradients { buffer.zero() }
        for i in 0..<steps {
            poll?()
            let t = reverse ? i : steps - 1 - i
            cell.backward(Step(t: t, gates: row(dgates, t, width: G), previous: slot(states[0], previousSlot(t)),
                               output: slot(states[0], outputSlot(t))),
                          upstream: dy + t * n * ldy, ld: ldy, self, parameters: p)
        }
        // Weight gradients of all τ steps, one GEMM each.
        let rows = steps * n
        poll?()
        products.gemm(transA: true, transB: false, m: G, n: inputSize, k: rows, a: dgates.base, lda: G,
                      b: x, ldb: ldx, beta: 1, c: gp + weightIH, ldc: inputSize)
        poll?()
        // Both folded biases enter the same pre-activations: one column sum serves both.
        biasGradient.zero()
        T.columnSumAdd(rows: rows, cols: G, x: dgates.base, ld: G, out: biasGradient.base)
        T.addRows(rows: 1, cols: G, src: biasGradient.base, lds: G, dst: gp + biasIH, ldd: G)
        cell.addRecurrentGradients(self, gradients: gp)
    }

    /// c [n × h] = a [n × count] · W_hh's rows [rows, rows + count) (+ c when `accumulate`): the
    /// per-step ∂loss/∂h_{t-1} through the recurrent product.
    @inline(__always)
    func recurrentInputGradient(_ a: UnsafePointer<T>, lda: Int, rows: Int, count: Int, parameters p: UnsafePointer<T>,
                                into c: UnsafeMutablePointer<T>, accumulate: Bool) {
        if products.bf16 != nil {
            let block = packed(&packedBackward, key: rows, rows: sequences, inner: count, columns: hidden,
                               b: p + weightHH + rows * hidden, transposed: false)
            block.multiply(a: a.f32, lda: lda, c: c.f32, ldc: hidden, beta: accumulate ? 1 : 0)
            return
        }
        products.gemm(transA: false, transB: false, m: sequences, n: hidden, k: count, a: a, lda: lda,
                      b: p + weightHH + rows * hidden, ldb: hidden, beta: accumulate ? 1 : 0, c: c, ldc: hidden)
    }

    private func beginPass(parameters p: UnsafePointer<T>) {
        pass += 1
        passParameters = p
    }

    /// The packed block of `blocks` under `key`, packed from b (W_hh's rows, row stride h) if
    /// this pass has not packed it yet.
    @inline(__always)
    private func packed(_ blocks: inout [Int: PackedWeights], key: Int, rows: Int, inner: Int, columns: Int,
                        b: UnsafePointer<T>, transposed: Bool) -> any PackedProduct {
        let block: PackedWeights
        if let known = blocks[key] {
            block = known
        } else {
            block = products.packedWeights(rows: rows, inner: inner, columns: columns)
            blocks[key] = block
        }
        if block.pass != pass {
            let start = ContinuousClock.now
            block.product.pack(b: b.f32, ldb: hidden, transposed: transposed)
            products.packingSeconds += start.secondsAgo
            block.pass = pass
        }
        return block.product
    }

    /// ∂W_hh's rows [rows, rows + count) += aᵀ b over all τ·n rows: a [τ·n × count] with leading
    /// dimension G·h (a column block of dgates or alike), b [τ·n × h].
    func addRecurrentWeightGradient(_ a: UnsafePointer<T>, rows: Int, count: Int, times b: UnsafePointer<T>,
                                    gradients gp: UnsafeMutablePointer<T>) {
        products.gemm(transA: true, transB: false, m: count, n: hidden, k: steps * sequences, a: a, lda: gateWidth,
                      b: b, ldb: hidden, beta: 1, c: gp + weightHH + rows * hidden, ldc: hidden)
    }

    /// ∂b_hh += the folded bias's gradient.
    func addFoldedBiasGradient(gradients gp: UnsafeMutablePointer<T>) {
        T.addRows(rows: 1, cols: gateWidth, src: biasGradient.base, lds: gateWidth, dst: gp + biasHH, ldd: gateWidth)
    }

    /// ∂loss/∂x [τ·n × d] from the last `backward`, into dx (added when `accumulate`), in eight
    /// blocks of rows when `poll` is given: communication started earlier advances only
    /// between MPI calls, and this GEMM is what it overlaps with. Rows of a product do not
    /// depend on how the rows are split, so the result is the same either way.
    func inputGradient(parameters p: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, lddx: Int, accumulate: Bool,
                       poll: (() -> Void)? = nil) {
        let rows = steps * sequences, block = poll == nil ? rows : max(64, rows / 8)
        var start = 0
        while start < rows {
            let m = min(block, rows - start)
            products.gemm(transA: false, transB: false, m: m, n: inputSize, k: gateWidth,
                          a: dgates.base + start * gateWidth, lda: gateWidth, b: p + weightIH, ldb: inputSize,
                          beta: accumulate ? 1 : 0, c: dx + start * lddx, ldc: lddx)
            poll?()
            start += m
        }
    }
}

extension ActivationPlan {
    /// The arena entries of the direction at `prefix`, for `cell`.
    static func direction(_ prefix: String, cell: any RecurrentCell.Type, shape s: ScanShape,
                          precision: MatmulPrecision) -> [ArenaEntry] {
        let G = Double(cell.gateCount) * s.hidden, nh = s.sequences * s.hidden, h = Int(s.hidden)
        var entries: [ArenaEntry] = [.scalars(prefix + "gates", s.steps * s.sequences * G)]
        for part in 0..<cell.stateParts {
            entries += [.scalars(prefix + "state\(part)", (s.steps + 1) * nh), .scalars(prefix + "dstate\(part)", nh)]
        }
        entries += cell.saved(s).map { $0.prefixed(prefix) }
        entries += [.scalars(prefix + "transposedWeights", s.sequences == 1 || precision == .bf16 ? 0 : s.hidden * Double(paddedStride(cell.gateCount * h))),
                    .scalars(prefix + "bias", G), .scalars(prefix + "biasGradient", G)]
        return entries
    }
}
