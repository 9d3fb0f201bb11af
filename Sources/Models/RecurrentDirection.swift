import Numerics

/// One direction of one recurrent layer over a chunk of τ steps and n sequences: where its
/// weights live, and its activations, allocated once per (τ, n) so a step allocates nothing.
///
/// Hidden states sit in `states` [(τ+1) × n × h] in time order with the initial state at the
/// end the direction starts from: forward h0 in slot 0 and h_t in slot t+1; reverse h_t in slot t
/// and h0 in slot τ. Either way the previous states of all steps, and the outputs of all steps,
/// are each one contiguous [τ·n × h] block: dW_hh is one GEMM, and a unidirectional layer's
/// output is read in place.
final class RecurrentDirection<T: Real> {
    let cell: Cell
    let relu: Bool
    let linearBeforeReset: Bool
    let reverse: Bool
    let inputSize: Int
    let hidden: Int
    /// G·h: 1, 4 or 3 blocks of h for RNN, LSTM, GRU.
    let gateWidth: Int
    let weightIH: Int, weightHH: Int, biasIH: Int, biasHH: Int
    let steps: Int
    let sequences: Int

    /// [τ × n × G·h]: pre-activations, then activations (LSTM i|f|g|o, GRU r|z|n).
    let gates: Buffer<T>
    let states: Buffer<T>
    /// ∂loss/∂pre-activations [τ × n × G·h] (for the linear-before-reset GRU: of x W_ihᵀ + b_ih).
    /// The same memory as `gates`: each step's backward kernel reads the activations of a row and
    /// writes their gradient in their place, so the arena holds one such block, not two.
    var dgates: Buffer<T> { gates }
    /// LSTM memory cells, laid out like `states`.
    let cells: Buffer<T>
    /// LSTM tanh(c_t) [τ × n × h].
    let tanhCells: Buffer<T>
    /// GRU (notes) r_t ⊙ h_{t-1} [τ × n × h].
    let resetHidden: Buffer<T>
    /// GRU (linear-before-reset) h_{t-1} W_hnᵀ + b_hn [τ × n × h].
    let hiddenN: Buffer<T>
    /// GRU (linear-before-reset) h_{t-1} W_hhᵀ + b_hh of the current step [n × 3h].
    let recurrentGates: Buffer<T>
    /// GRU (linear-before-reset) ∂loss/∂(h_{t-1} W_hhᵀ + b_hh) [τ × n × 3h].
    let dRecurrentGates: Buffer<T>
    /// ∂loss/∂h and ∂loss/∂c carried backward through time, and ∂loss/∂(r ⊙ h) [n × h].
    let dh: Buffer<T>, dc: Buffer<T>, drh: Buffer<T>
    /// W_hhᵀ [h × G·h] with rows padded to `transposedStride`, refreshed by each forward pass:
    /// OpenBLAS runs the per-step product h_{t-1} W_hhᵀ 7–15 % faster from this layout than with
    /// a transposed operand (measured at [32 × 256]·[256 × 1024] and [64 × 512]·[512 × 512]).
    /// Empty for one sequence, whose GEMV reads W_hh directly.
    let transposedWeights: Buffer<T>
    let transposedStride: Int
    /// The bias the kernels add to the pre-activations [G·h]: b_ih + b_hh (b_ih alone for the
    /// linear-before-reset GRU, whose b_hh sits inside the reset). Adding it in the kernel
    /// saves writing the whole [τ·n × G·h] block once more before the input projection.
    let bias: Buffer<T>
    /// Column sums of dgates [G·h], the gradient of both biases.
    let biasGradient: Buffer<T>

    init(config: ModelConfig, layout: ParameterLayout, layer: Int, direction: Int, steps: Int, sequences: Int) {
        cell = config.cell
        relu = config.activation == .relu
        linearBeforeReset = config.gruVariant == .linearBeforeReset
        reverse = direction == 1
        inputSize = config.inputSize(layer: layer)
        hidden = config.hidden
        gateWidth = config.cell.gateCount * config.hidden
        let s = ParameterLayout.suffix(layer: layer, direction: direction)
        weightIH = layout["rnn.weight_ih_\(s)"].offset
        weightHH = layout["rnn.weight_hh_\(s)"].offset
        biasIH = layout["rnn.bias_ih_\(s)"].offset
        biasHH = layout["rnn.bias_hh_\(s)"].offset
        self.steps = steps
        self.sequences = sequences
        let nh = sequences * hidden, tnh = steps * nh
        let isLSTM = cell == .lstm, isGRU = cell == .gru
        gates = Buffer(count: steps * sequences * gateWidth)
        states = Buffer(count: (steps + 1) * nh)
        cells = Buffer(count: isLSTM ? (steps + 1) * nh : 0)
        tanhCells = Buffer(count: isLSTM ? tnh : 0)
        resetHidden = Buffer(count: isGRU && !linearBeforeReset ? tnh : 0)
        hiddenN = Buffer(count: isGRU && linearBeforeReset ? tnh : 0)
        recurrentGates = Buffer(count: isGRU && linearBeforeReset ? 3 * nh : 0)
        dRecurrentGates = Buffer(count: isGRU && linearBeforeReset ? 3 * tnh : 0)
        dh = Buffer(count: nh)
        dc = Buffer(count: nh)
        drh = Buffer(count: nh)
        transposedStride = paddedStride(gateWidth)
        transposedWeights = Buffer(count: sequences == 1 ? 0 : hidden * transposedStride)
        bias = Buffer(count: gateWidth)
        biasGradient = Buffer(count: gateWidth)
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
    var output: UnsafeMutablePointer<T> { slot(states, reverse ? 0 : 1) }
    /// Previous states h_{t-1} (h_{t+1} in reverse) of all steps in time order, [τ·n × h].
    var previous: UnsafeMutablePointer<T> { slot(states, reverse ? 1 : 0) }

    /// Copies h0 (and c0) from a state matrix whose row i starts at `initial + i·ld`.
    func loadInitialState(_ initial: UnsafePointer<T>, ld: Int) {
        T.copyRows(rows: sequences, cols: hidden, src: initial, lds: ld, dst: slot(states, initialSlot), ldd: hidden)
        if cell == .lstm {
            T.copyRows(rows: sequences, cols: hidden, src: initial + hidden, lds: ld,
                       dst: slot(cells, initialSlot), ldd: hidden)
        }
    }

    /// Copies the last step's h (and c) into a state matrix.
    func storeFinalState(_ final: UnsafeMutablePointer<T>, ld: Int) {
        T.copyRows(rows: sequences, cols: hidden, src: slot(states, finalSlot), lds: hidden, dst: final, ldd: ld)
        if cell == .lstm {
            T.copyRows(rows: sequences, cols: hidden, src: slot(cells, finalSlot), lds: hidden,
                       dst: final + hidden, ldd: ld)
        }
    }

    /// Copies ∂loss/∂h0 (and ∂loss/∂c0), left in dh and dc by `backward`, into a state matrix.
    func storeInitialStateGradient(_ target: UnsafeMutablePointer<T>, ld: Int) {
        T.copyRows(rows: sequences, cols: hidden, src: dh.base, lds: hidden, dst: target, ldd: ld)
        if cell == .lstm {
            T.copyRows(rows: sequences, cols: hidden, src: dc.base, lds: hidden, dst: target + hidden, ldd: ld)
        }
    }

    /// Runs the direction over the chunk. x: [τ·n × d] with leading dimension ldx.
    func forward(parameters p: UnsafePointer<T>, x: UnsafePointer<T>, ldx: Int) {
        let n = sequences, h = hidden, G = gateWidth
        // Input projection of all τ steps in one GEMM: gates = x W_ihᵀ (the kernels add the bias).
        let recurrentBias: UnsafePointer<T>? = cell == .gru && linearBeforeReset ? nil : p + biasHH
        T.biasRows(rows: 1, cols: G, out: bias.base, ld: G, b1: p + biasIH, b2: recurrentBias)
        let b = UnsafePointer(bias.base)
        gemm(transA: false, transB: true, m: steps * n, n: G, k: inputSize, alpha: 1, a: x, lda: ldx,
             b: p + weightIH, ldb: inputSize, beta: 0, c: gates.base, ldc: G)
        // One sequence makes each step a GEMV, which reads W_hh [G × h] row by row as it is
        // stored; more take GEMMs on its padded transposed copy. wFrom(c): W_hhᵀ from gate column c.
        let direct = n == 1
        let ldw = direct ? h : transposedStride
        if !direct { T.transpose(rows: G, cols: h, src: p + weightHH, lds: h, dst: transposedWeights.base, ldd: ldw) }
        let w: UnsafePointer<T> = direct ? p + weightHH : UnsafePointer(transposedWeights.base)
        func wFrom(_ c: Int) -> UnsafePointer<T> { direct ? w + c * h : w + c }
        for i in 0..<steps {
            let t = reverse ? steps - 1 - i : i
            let g = row(gates, t, width: G)
            let hPrev = slot(states, previousSlot(t)), hOut = slot(states, outputSlot(t))
            switch cell {
            case .rnn:
                gemm(transA: false, transB: direct, m: n, n: h, k: h, alpha: 1, a: hPrev, lda: h,
                     b: wFrom(0), ldb: ldw, beta: 1, c: g, ldc: h)
                T.actForward(rows: n, width: h, relu: relu, pre: g, bias: b, out: hOut)
            case .lstm:
                gemm(transA: false, transB: direct, m: n, n: G, k: h, alpha: 1, a: hPrev, lda: h,
                     b: wFrom(0), ldb: ldw, beta: 1, c: g, ldc: G)
                T.lstmForward(n: n, h: h, gates: g, bias: b, cprev: slot(cells, previousSlot(t)),
                              c: slot(cells, outputSlot(t)), tc: row(tanhCells, t, width: h), hout: hOut)
            case .gru where linearBeforeReset:
                let gh = recurrentGates.base
                T.biasRows(rows: n, cols: G, out: gh, ld: G, b1: p + biasHH, b2: nil)
                gemm(transA: false, transB: direct, m: n, n: G, k: h, alpha: 1, a: hPrev, lda: h,
                     b: wFrom(0), ldb: ldw, beta: 1, c: gh, ldc: G)
                T.gruLBRForward(n: n, h: h, gi: g, bias: b, gh: gh, hprev: hPrev, ghn: row(hiddenN, t, width: h), hout: hOut)
            case .gru:
                let rh = row(resetHidden, t, width: h)
                gemm(transA: false, transB: direct, m: n, n: 2 * h, k: h, alpha: 1, a: hPrev, lda: h,
                     b: wFrom(0), ldb: ldw, beta: 1, c: g, ldc: G)
                T.gruReset(n: n, h: h, g: g, bias: b, hprev: hPrev, rh: rh)
                gemm(transA: false, transB: direct, m: n, n: h, k: h, alpha: 1, a: rh, lda: h,
                     b: wFrom(2 * h), ldb: ldw, beta: 1, c: g + 2 * h, ldc: G)
                T.gruUpdate(n: n, h: h, g: g, bias: b, hprev: hPrev, hout: hOut)
            case .mlp:
                preconditionFailure("the MLP has no recurrent direction")
            }
        }
    }

    /// Back-propagates through the chunk. dy: ∂loss/∂outputs [τ·n × h] with leading dimension
    /// ldy. Adds weight gradients into `grads`; leaves ∂loss/∂pre-activations in dgates for
    /// `inputGradient`, and ∂loss/∂h0 (and ∂loss/∂c0) in dh (and dc). The gradient arriving from
    /// beyond the chunk is zero: truncated BPTT. `poll` runs between time steps.
    func backward(parameters p: UnsafePointer<T>, gradients gp: UnsafeMutablePointer<T>,
                  x: UnsafePointer<T>, ldx: Int, dy: UnsafePointer<T>, ldy: Int, poll: (() -> Void)? = nil) {
        let n = sequences, h = hidden, G = gateWidth
        let whh = p + weightHH
        dh.zero()
        dc.zero()
        for i in 0..<steps {
            poll?()
            let t = reverse ? i : steps - 1 - i
            let g = row(gates, t, width: G), dg = row(dgates, t, width: G)
            let hPrev = slot(states, previousSlot(t))
            let dUp = dy + t * n * ldy
            switch cell {
            case .rnn:
                T.actBackward(n: n, h: h, relu: relu, out: slot(states, outputSlot(t)), dup: dUp, ldup: ldy,
                              drec: dh.base, dpre: dg)
                gemm(transA: false, transB: false, m: n, n: h, k: h, alpha: 1, a: dg, lda: h,
                     b: whh, ldb: h, beta: 0, c: dh.base, ldc: h)
            case .lstm:
                T.lstmBackward(n: n, h: h, gates: g, cprev: slot(cells, previousSlot(t)),
                               tc: row(tanhCells, t, width: h), dup: dUp, ldup: ldy, dhrec: dh.base,
                               dc: dc.base, dgates: dg)
                gemm(transA: false, transB: false, m: n, n: h, k: G, alpha: 1, a: dg, lda: G,
                     b: whh, ldb: h, beta: 0, c: dh.base, ldc: h)
            case .gru where linearBeforeReset:
                let dgh = row(dRecurrentGates, t, width: G)
                T.gruLBRBackward(n: n, h: h, g: g, ghn: row(hiddenN, t, width: h), hprev: hPrev, dup: dUp,
                                 ldup: ldy, dhrec: dh.base, dgi: dg, dgh: dgh)
                gemm(transA: false, transB: false, m: n, n: h, k: G, alpha: 1, a: dgh, lda: G,
                     b: whh, ldb: h, beta: 1, c: dh.base, ldc: h)
            case .gru:
                T.gruUpdateBackward(n: n, h: h, g: g, hprev: hPrev, dup: dUp, ldup: ldy, dhrec: dh.base, dg: dg)
                gemm(transA: false, transB: false, m: n, n: h, k: h, alpha: 1, a: dg + 2 * h, lda: G,
                     b: whh + 2 * h * h, ldb: h, beta: 0, c: drh.base, ldc: h)
                T.gruResetBackward(n: n, h: h, g: g, hprev: hPrev, drh: drh.base, dhrec: dh.base, dg: dg)
                gemm(transA: false, transB: false, m: n, n: h, k: 2 * h, alpha: 1, a: dg, lda: G,
                     b: whh, ldb: h, beta: 1, c: dh.base, ldc: h)
            case .mlp:
                preconditionFailure("the MLP has no recurrent direction")
            }
        }
        // Weight gradients of all τ steps, one GEMM each.
        let rows = steps * n
        poll?()
        gemm(transA: true, transB: false, m: G, n: inputSize, k: rows, alpha: 1, a: dgates.base, lda: G,
             b: x, ldb: ldx, beta: 1, c: gp + weightIH, ldc: inputSize)
        poll?()
        // Both biases enter the same pre-activations: one column sum serves both (the
        // linear-before-reset GRU's b_hh has its own, dRecurrentGates).
        biasGradient.zero()
        T.columnSumAdd(rows: rows, cols: G, x: dgates.base, ld: G, out: biasGradient.base)
        T.addRows(rows: 1, cols: G, src: biasGradient.base, lds: G, dst: gp + biasIH, ldd: G)
        switch cell {
        case .gru where linearBeforeReset:
            gemm(transA: true, transB: false, m: G, n: h, k: rows, alpha: 1, a: dRecurrentGates.base, lda: G,
                 b: previous, ldb: h, beta: 1, c: gp + weightHH, ldc: h)
            T.columnSumAdd(rows: rows, cols: G, x: dRecurrentGates.base, ld: G, out: gp + biasHH)
        case .gru:
            gemm(transA: true, transB: false, m: 2 * h, n: h, k: rows, alpha: 1, a: dgates.base, lda: G,
                 b: previous, ldb: h, beta: 1, c: gp + weightHH, ldc: h)
            gemm(transA: true, transB: false, m: h, n: h, k: rows, alpha: 1, a: dgates.base + 2 * h, lda: G,
                 b: resetHidden.base, ldb: h, beta: 1, c: gp + weightHH + 2 * h * h, ldc: h)
            T.addRows(rows: 1, cols: G, src: biasGradient.base, lds: G, dst: gp + biasHH, ldd: G)
        default:
            gemm(transA: true, transB: false, m: G, n: h, k: rows, alpha: 1, a: dgates.base, lda: G,
                 b: previous, ldb: h, beta: 1, c: gp + weightHH, ldc: h)
            T.addRows(rows: 1, cols: G, src: biasGradient.base, lds: G, dst: gp + biasHH, ldd: G)
        }
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
            gemm(transA: false, transB: false, m: m, n: inputSize, k: gateWidth, alpha: 1,
                 a: dgates.base + start * gateWidth, lda: gateWidth, b: p + weightIH, ldb: inputSize,
                 beta: accumulate ? 1 : 0, c: dx + start * lddx, ldc: lddx)
            poll?()
            start += m
        }
    }
}

/// A row stride of at least `width` elements, a multiple of 16 (64 bytes of Float) and not a
/// multiple of 256, so consecutive rows do not fall on the same 4 KiB offset (4K aliasing).
func paddedStride(_ width: Int) -> Int {
    let rounded = (width + 15) / 16 * 16
    return rounded % 256 == 0 ? rounded + 16 : rounded
}
