import CKernels
import Foundation
import Kernels
import ModelSpec

/// The LSTM, gates laid out i|f|g|o (PyTorch's order; g is the input node C̃):
/// C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t, H_t = O_t ⊙ tanh(C_t). Kernels in lstm.c.
struct LSTMCell: RecurrentCell {
    static let forms = [CellForm("lstm")]
    static let gates = ["i", "f", "g", "o"]
    /// h, then the memory cell c, laid out like h.
    static let state = ["h", "c"]
    static let pytorchModule: String? = "nn.LSTM"
    /// ONNX's LSTM takes i|o|f|c (c being g).
    static let onnx: ONNXOperator? = ONNXOperator("LSTM", blocks: [0, 3, 1, 2])

    /// tanh(C_t), which backward needs and forward has at hand.
    static func saved(_ s: ScanShape) -> [ArenaEntry] { [.scalars("tanhCells", s.steps * s.sequences * s.hidden)] }
    /// [τ × n × h]
    private static let tanhCells = 0

    init(config: ModelConfig) {}

    func forward<T: Scalar>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        let cells = d.states[1]
        d.addRecurrentProduct(s.previous, columns: 0, width: d.gateWidth, into: s.gates, ldc: d.gateWidth)
        lstmForward(n: d.sequences, h: d.hidden, gates: s.gates, bias: d.bias.base,
                      cprev: d.slot(cells, d.previousSlot(s.t)), c: d.slot(cells, d.outputSlot(s.t)),
                      tc: d.row(d.saved[Self.tanhCells], s.t, width: d.hidden), hout: s.output)
    }

    func backward<T: Scalar>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let dh = d.stateGradients[0].base, dc = d.stateGradients[1].base
        lstmBackward(n: d.sequences, h: d.hidden, gates: s.gates, cprev: d.slot(d.states[1], d.previousSlot(s.t)),
                       tc: d.row(d.saved[Self.tanhCells], s.t, width: d.hidden), dup: upstream, ldup: ld,
                       dhrec: dh, dc: dc, dgates: s.gates)
        d.recurrentInputGradient(s.gates, lda: d.gateWidth, rows: 0, count: d.gateWidth, parameters: p, into: dh,
                                 accumulate: false)
    }

    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        d.addRecurrentWeightGradient(d.dgates.base, rows: 0, count: d.gateWidth, times: d.previous, gradients: gp)
        d.addFoldedBiasGradient(gradients: gp)
    }

    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]] {
        let xi = w.input(x), h = state[0], c = state[1]
        let a = (0..<4).map { sum(xi[$0], w.recurrent(h, block: $0)) }
        let i = a[0].map(sigmoid), f = a[1].map(sigmoid), g = a[2].map(tanh), o = a[3].map(sigmoid)
        let cNew = h.indices.map { f[$0] * c[$0] + i[$0] * g[$0] }
        return [h.indices.map { o[$0] * tanh(cNew[$0]) }, cNew]
    }
}

/// rk_lstm_forward (lstm.h) for T: gates [n × 4h] pre-activations in, activations out;
/// c = f⊙cprev + i⊙g, tc = tanh(c), hout = o⊙tc.
@inline(__always)
func lstmForward<T: Scalar>(n: Int, h: Int, gates: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?,
                                  cprev: UnsafePointer<T>, c: UnsafeMutablePointer<T>, tc: UnsafeMutablePointer<T>,
                                  hout: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_lstm_forward_f32(n, h, gates.f32, bias?.f32, cprev.f32, c.f32, tc.f32, hout.f32)
    } else {
        rk_lstm_forward_f64(n, h, gates.f64, bias?.f64, cprev.f64, c.f64, tc.f64, hout.f64)
    }
}

/// rk_lstm_backward (lstm.h) for T: dc in ∂/∂c_t from t+1, out ∂/∂c_{t-1}; dgates [n × 4h].
@inline(__always)
func lstmBackward<T: Scalar>(n: Int, h: Int, gates: UnsafePointer<T>, cprev: UnsafePointer<T>, tc: UnsafePointer<T>,
                                   dup: UnsafePointer<T>, ldup: Int, dhrec: UnsafePointer<T>, dc: UnsafeMutablePointer<T>,
                                   dgates: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_lstm_backward_f32(n, h, gates.f32, cprev.f32, tc.f32, dup.f32, ldup, dhrec.f32, dc.f32, dgates.f32)
    } else {
        rk_lstm_backward_f64(n, h, gates.f64, cprev.f64, tc.f64, dup.f64, ldup, dhrec.f64, dc.f64, dgates.f64)
    }
}
