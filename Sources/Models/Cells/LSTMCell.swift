import Numerics

/// The LSTM, gates laid out i|f|g|o (PyTorch's order; g is the input node C̃):
/// C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t, H_t = O_t ⊙ tanh(C_t). Kernels in lstm.c.
struct LSTMCell: RecurrentCell {
    static let forms = [CellForm("lstm", .lstm)]
    static func computes(_ config: ModelConfig) -> Bool { config.cell == .lstm }
    static let gateCount = 4
    /// h, then the memory cell c, laid out like h.
    static let stateParts = 2

    /// tanh(C_t), which backward needs and forward has at hand.
    static func saved(_ s: ScanShape) -> [ArenaEntry] { [.scalars("tanhCells", s.steps * s.sequences * s.hidden)] }
    /// [τ × n × h]
    private static let tanhCells = 0

    init(config: ModelConfig) {}

    func forward<T: Real>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        let cells = d.states[1]
        d.addRecurrentProduct(s.previous, columns: 0, width: d.gateWidth, into: s.gates, ldc: d.gateWidth)
        T.lstmForward(n: d.sequences, h: d.hidden, gates: s.gates, bias: d.bias.base,
                      cprev: d.slot(cells, d.previousSlot(s.t)), c: d.slot(cells, d.outputSlot(s.t)),
                      tc: d.row(d.saved[Self.tanhCells], s.t, width: d.hidden), hout: s.output)
    }

    func backward<T: Real>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let dh = d.stateGradients[0].base, dc = d.stateGradients[1].base
        T.lstmBackward(n: d.sequences, h: d.hidden, gates: s.gates, cprev: d.slot(d.states[1], d.previousSlot(s.t)),
                       tc: d.row(d.saved[Self.tanhCells], s.t, width: d.hidden), dup: upstream, ldup: ld,
                       dhrec: dh, dc: dc, dgates: s.gates)
        d.recurrentInputGradient(s.gates, lda: d.gateWidth, rows: 0, count: d.gateWidth, parameters: p, into: dh,
                                 accumulate: false)
    }

    func addRecurrentGradients<T: Real>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        d.addRecurrentWeightGradient(d.dgates.base, rows: 0, count: d.gateWidth, times: d.previous, gradients: gp)
        d.addFoldedBiasGradient(gradients: gp)
    }
}
