import CKernels
import Foundation
import Kernels
import ModelSpec

/// The GRU as cuDNN and PyTorch's nn.GRU compute it, gates laid out r|z|n: the reset applies
/// after the recurrent matmul, n_t = tanh(x_t W_inᵀ + b_in + r_t ⊙ (h_{t-1} W_hnᵀ + b_hn)).
/// So b_hh stays out of the kernels' folded bias, and each step's h_{t-1} W_hhᵀ + b_hh is one
/// GEMM into a buffer of its own. Kernels in gru_lbr.c.
struct GRULinearBeforeResetCell: RecurrentCell {
    static let forms = [CellForm("gru-linear-before-reset", .gru, gruVariant: .linearBeforeReset)]
    static let gates = ["r", "z", "n"]
    static let pytorchModule: String? = "nn.GRU"
    /// ONNX's GRU takes z|r|h (h being n).
    static let onnx: ONNXOperator? = ONNXOperator("GRU", blocks: [1, 0, 2]) { _ in [("linear_before_reset", .int(1))] }
    static let foldsRecurrentBias = false

    static func saved(_ s: ScanShape) -> [ArenaEntry] {
        let nh = s.sequences * s.hidden
        return [.scalars("hiddenN", s.steps * nh), .scalars("recurrentGates", 3 * nh),
                .scalars("dRecurrentGates", 3 * s.steps * nh)]
    }
    /// h_{t-1} W_hnᵀ + b_hn [τ × n × h].
    private static let hiddenN = 0
    /// h_{t-1} W_hhᵀ + b_hh of the current step [n × 3h].
    private static let recurrentGates = 1
    /// ∂loss/∂(h_{t-1} W_hhᵀ + b_hh) [τ × n × 3h]; dgates holds ∂loss/∂(x W_ihᵀ + b_ih).
    private static let dRecurrentGates = 2

    init(config: ModelConfig) {}

    func forward<T: Scalar>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let gh = d.saved[Self.recurrentGates].base
        T.biasRows(rows: n, cols: G, out: gh, ld: G, b1: p + d.biasHH, b2: nil)
        d.addRecurrentProduct(s.previous, columns: 0, width: G, into: gh, ldc: G)
        gruLBRForward(n: n, h: h, gi: s.gates, bias: d.bias.base, gh: gh, hprev: s.previous,
                        ghn: d.row(d.saved[Self.hiddenN], s.t, width: h), hout: s.output)
    }

    func backward<T: Scalar>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let dh = d.stateGradients[0].base, dgh = d.row(d.saved[Self.dRecurrentGates], s.t, width: G)
        gruLBRBackward(n: n, h: h, g: s.gates, ghn: d.row(d.saved[Self.hiddenN], s.t, width: h), hprev: s.previous,
                         dup: upstream, ldup: ld, dhrec: dh, dgi: s.gates, dgh: dgh)
        d.recurrentInputGradient(dgh, lda: G, rows: 0, count: G, parameters: p, into: dh, accumulate: true)
    }

    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        let G = d.gateWidth, dgh = d.saved[Self.dRecurrentGates].base
        d.addRecurrentWeightGradient(dgh, rows: 0, count: G, times: d.previous, gradients: gp)
        T.columnSumAdd(rows: d.steps * d.sequences, cols: G, x: dgh, ld: G, out: gp + d.biasHH)
    }

    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]] {
        let xi = w.input(x), h = state[0]
        let r = sum(xi[0], w.recurrent(h, block: 0)).map(sigmoid), z = sum(xi[1], w.recurrent(h, block: 1)).map(sigmoid)
        // n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn))
        let inner = w.recurrent(h, block: 2)
        let n = h.indices.map { tanh(xi[2][$0] + r[$0] * inner[$0]) }
        return [h.indices.map { z[$0] * h[$0] + (1 - z[$0]) * n[$0] }]
    }
}

/// rk_gru_lbr_forward (gru_lbr.h) for T: gi [n × 3h] = x W_ihᵀ in, r|z|n out; gh = h W_hhᵀ + b_hh;
/// ghn ← gh_n; hout = z⊙hprev + (1−z)⊙n.
@inline(__always)
func gruLBRForward<T: Scalar>(n: Int, h: Int, gi: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, gh: UnsafePointer<T>,
                                    hprev: UnsafePointer<T>, ghn: UnsafeMutablePointer<T>, hout: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_lbr_forward_f32(n, h, gi.f32, bias?.f32, gh.f32, hprev.f32, ghn.f32, hout.f32)
    } else {
        rk_gru_lbr_forward_f64(n, h, gi.f64, bias?.f64, gh.f64, hprev.f64, ghn.f64, hout.f64)
    }
}

/// rk_gru_lbr_backward (gru_lbr.h) for T: dgi, dgh [n × 3h]; dhrec in ∂/∂h_t from t+1, out dh⊙z.
@inline(__always)
func gruLBRBackward<T: Scalar>(n: Int, h: Int, g: UnsafePointer<T>, ghn: UnsafePointer<T>, hprev: UnsafePointer<T>,
                                     dup: UnsafePointer<T>, ldup: Int, dhrec: UnsafeMutablePointer<T>,
                                     dgi: UnsafeMutablePointer<T>, dgh: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_lbr_backward_f32(n, h, g.f32, ghn.f32, hprev.f32, dup.f32, ldup, dhrec.f32, dgi.f32, dgh.f32)
    } else {
        rk_gru_lbr_backward_f64(n, h, g.f64, ghn.f64, hprev.f64, dup.f64, ldup, dhrec.f64, dgi.f64, dgh.f64)
    }
}
