import CKernels
import Foundation
import Kernels
import ModelSpec

/// The GRU as the notes write it, gates laid out r|z|n (PyTorch's order; n is the candidate H̃):
/// H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t-1}) W_hh + b_h), H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t.
/// The reset acts before the recurrent matmul, so each step takes two GEMMs: r|z from h_{t-1},
/// then n from r ⊙ h_{t-1}. Kernels in gru.c.
struct GRUCell: RecurrentCell {
    static let forms = [CellForm("gru", gruVariant: .resetBeforeMatmul)]
    static let gates = ["r", "z", "n"]
    /// ONNX's GRU takes z|r|h (h being n); its default placement of the reset is this one.
    static let onnx: ONNXOperator? = ONNXOperator("GRU", blocks: [1, 0, 2]) { _ in [("linear_before_reset", .int(0))] }

    static func saved(_ s: ScanShape) -> [ArenaEntry] {
        [.scalars("resetHidden", s.steps * s.sequences * s.hidden), .scalars("dResetHidden", s.sequences * s.hidden)]
    }
    /// r_t ⊙ h_{t-1} [τ × n × h], the input of dW_hn.
    private static let resetHidden = 0
    /// ∂loss/∂(r ⊙ h_{t-1}) of the current step [n × h].
    private static let dResetHidden = 1

    init(config: ModelConfig) {}

    func forward<T: Scalar>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let rh = d.row(d.saved[Self.resetHidden], s.t, width: h)
        d.addRecurrentProduct(s.previous, columns: 0, width: 2 * h, into: s.gates, ldc: G)
        gruReset(n: n, h: h, g: s.gates, bias: d.bias.base, hprev: s.previous, rh: rh)
        d.addRecurrentProduct(rh, columns: 2 * h, width: h, into: s.gates + 2 * h, ldc: G)
        gruUpdate(n: n, h: h, g: s.gates, bias: d.bias.base, hprev: s.previous, hout: s.output)
    }

    func backward<T: Scalar>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let dh = d.stateGradients[0].base, drh = d.saved[Self.dResetHidden].base
        gruUpdateBackward(n: n, h: h, g: s.gates, hprev: s.previous, dup: upstream, ldup: ld,
                            dhrec: dh, dg: s.gates)
        d.recurrentInputGradient(s.gates + 2 * h, lda: G, rows: 2 * h, count: h, parameters: p, into: drh, accumulate: false)
        gruResetBackward(n: n, h: h, g: s.gates, hprev: s.previous, drh: drh, dhrec: dh, dg: s.gates)
        d.recurrentInputGradient(s.gates, lda: G, rows: 0, count: 2 * h, parameters: p, into: dh, accumulate: true)
    }

    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        let h = d.hidden
        d.addRecurrentWeightGradient(d.dgates.base, rows: 0, count: 2 * h, times: d.previous, gradients: gp)
        d.addRecurrentWeightGradient(d.dgates.base + 2 * h, rows: 2 * h, count: h,
                                     times: d.saved[Self.resetHidden].base, gradients: gp)
        d.addFoldedBiasGradient(gradients: gp)
    }

    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]] {
        let xi = w.input(x), h = state[0]
        let r = sum(xi[0], w.recurrent(h, block: 0)).map(sigmoid), z = sum(xi[1], w.recurrent(h, block: 1)).map(sigmoid)
        // n = tanh(x W_in + b_in + (r ⊙ h) W_hn + b_hn)
        let n = sum(xi[2], w.recurrent(h.indices.map { r[$0] * h[$0] }, block: 2)).map(tanh)
        return [h.indices.map { z[$0] * h[$0] + (1 - z[$0]) * n[$0] }]
    }
}

/// rk_gru_reset (gru.h) for T: σ on r|z of g + bias [n × 3h]; rh = r ⊙ hprev.
@inline(__always)
func gruReset<T: Scalar>(n: Int, h: Int, g: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, hprev: UnsafePointer<T>,
                               rh: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_reset_f32(n, h, g.f32, bias?.f32, hprev.f32, rh.f32)
    } else {
        rk_gru_reset_f64(n, h, g.f64, bias?.f64, hprev.f64, rh.f64)
    }
}

/// rk_gru_update (gru.h) for T: tanh on n + bias_n; hout = z⊙hprev + (1−z)⊙n.
@inline(__always)
func gruUpdate<T: Scalar>(n: Int, h: Int, g: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, hprev: UnsafePointer<T>,
                                hout: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_update_f32(n, h, g.f32, bias?.f32, hprev.f32, hout.f32)
    } else {
        rk_gru_update_f64(n, h, g.f64, bias?.f64, hprev.f64, hout.f64)
    }
}

/// rk_gru_update_backward (gru.h) for T: writes dg's z and n parts; dhrec ← dh⊙z.
@inline(__always)
func gruUpdateBackward<T: Scalar>(n: Int, h: Int, g: UnsafePointer<T>, hprev: UnsafePointer<T>, dup: UnsafePointer<T>,
                                        ldup: Int, dhrec: UnsafeMutablePointer<T>, dg: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_update_backward_f32(n, h, g.f32, hprev.f32, dup.f32, ldup, dhrec.f32, dg.f32)
    } else {
        rk_gru_update_backward_f64(n, h, g.f64, hprev.f64, dup.f64, ldup, dhrec.f64, dg.f64)
    }
}

/// rk_gru_reset_backward (gru.h) for T: writes dg's r part; dhrec += drh⊙r.
@inline(__always)
func gruResetBackward<T: Scalar>(n: Int, h: Int, g: UnsafePointer<T>, hprev: UnsafePointer<T>, drh: UnsafePointer<T>,
                                       dhrec: UnsafeMutablePointer<T>, dg: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_gru_reset_backward_f32(n, h, g.f32, hprev.f32, drh.f32, dhrec.f32, dg.f32)
    } else {
        rk_gru_reset_backward_f64(n, h, g.f64, hprev.f64, drh.f64, dhrec.f64, dg.f64)
    }
}
