import CKernels
import Foundation
import Kernels
import ModelSpec

/// The minimal gated unit (Zhou et al. 2016), gates laid out f|n (n is the candidate H̃):
/// F_t = σ(X_t W_xf + H_{t-1} W_hf + b_f), H̃_t = tanh(X_t W_xh + (F_t ⊙ H_{t-1}) W_hh + b_h),
/// H_t = (1 − F_t) ⊙ H_{t-1} + F_t ⊙ H̃_t. Like `GRUCell`, the gate acts before the recurrent
/// matmul: two GEMMs per step, f from h_{t-1}, then n from f ⊙ h_{t-1}. PyTorch and ONNX have
/// no such cell. Kernels in mgu.c.
struct MGUCell: RecurrentCell {
    static let forms = [CellForm("mgu")]
    static let gates = ["f", "n"]

    static func saved(_ s: ScanShape) -> [ArenaEntry] {
        let nh = s.sequences * s.hidden
        return [.scalars("gatedHidden", s.steps * nh), .scalars("dGatedHidden", nh), .scalars("dForget", nh)]
    }
    /// f_t ⊙ h_{t-1} [τ × n × h], the input of dW_hn.
    private static let gatedHidden = 0
    /// ∂loss/∂(f ⊙ h_{t-1}) of the current step [n × h].
    private static let dGatedHidden = 1
    /// The update's share of ∂loss/∂f of the current step [n × h].
    private static let dForget = 2

    init(config: ModelConfig) {}

    func forward<T: Scalar>(_ s: Step<T>, _ d: RecurrentDirection<T>, parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let fh = d.row(d.saved[Self.gatedHidden], s.t, width: h)
        d.addRecurrentProduct(s.previous, columns: 0, width: h, into: s.gates, ldc: G)
        mguForget(n: n, h: h, g: s.gates, bias: d.bias.base, hprev: s.previous, fh: fh)
        d.addRecurrentProduct(fh, columns: h, width: h, into: s.gates + h, ldc: G)
        mguUpdate(n: n, h: h, g: s.gates, bias: d.bias.base, hprev: s.previous, hout: s.output)
    }

    func backward<T: Scalar>(_ s: Step<T>, upstream: UnsafePointer<T>, ld: Int, _ d: RecurrentDirection<T>,
                           parameters p: UnsafePointer<T>) {
        let n = d.sequences, h = d.hidden, G = d.gateWidth
        let dh = d.stateGradients[0].base, dfh = d.saved[Self.dGatedHidden].base, df = d.saved[Self.dForget].base
        mguUpdateBackward(n: n, h: h, g: s.gates, hprev: s.previous, dup: upstream, ldup: ld, dhrec: dh, df: df, dg: s.gates)
        d.recurrentInputGradient(s.gates + h, lda: G, rows: h, count: h, parameters: p, into: dfh, accumulate: false)
        mguForgetBackward(n: n, h: h, hprev: s.previous, dfh: dfh, df: df, dhrec: dh, dg: s.gates)
        d.recurrentInputGradient(s.gates, lda: G, rows: 0, count: h, parameters: p, into: dh, accumulate: true)
    }

    func addRecurrentGradients<T: Scalar>(_ d: RecurrentDirection<T>, gradients gp: UnsafeMutablePointer<T>) {
        let h = d.hidden
        d.addRecurrentWeightGradient(d.dgates.base, rows: 0, count: h, times: d.previous, gradients: gp)
        d.addRecurrentWeightGradient(d.dgates.base + h, rows: h, count: h, times: d.saved[Self.gatedHidden].base, gradients: gp)
        d.addFoldedBiasGradient(gradients: gp)
    }

    static func reference(_ w: ReferenceWeights, config: ModelConfig, x: [Double], state: [[Double]]) -> [[Double]] {
        let xi = w.input(x), h = state[0]
        let f = sum(xi[0], w.recurrent(h, block: 0)).map(sigmoid)
        let n = sum(xi[1], w.recurrent(h.indices.map { f[$0] * h[$0] }, block: 1)).map(tanh)
        return [h.indices.map { (1 - f[$0]) * h[$0] + f[$0] * n[$0] }]
    }
}

/// rk_mgu_forget (mgu.h) for T: σ on f of g + bias [n × 2h]; fh = f ⊙ hprev.
@inline(__always)
func mguForget<T: Scalar>(n: Int, h: Int, g: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, hprev: UnsafePointer<T>,
                          fh: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_mgu_forget_f32(n, h, g.f32, bias?.f32, hprev.f32, fh.f32)
    } else {
        rk_mgu_forget_f64(n, h, g.f64, bias?.f64, hprev.f64, fh.f64)
    }
}

/// rk_mgu_update (mgu.h) for T: tanh on n + bias_n; hout = (1−f)⊙hprev + f⊙n.
@inline(__always)
func mguUpdate<T: Scalar>(n: Int, h: Int, g: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, hprev: UnsafePointer<T>,
                          hout: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_mgu_update_f32(n, h, g.f32, bias?.f32, hprev.f32, hout.f32)
    } else {
        rk_mgu_update_f64(n, h, g.f64, bias?.f64, hprev.f64, hout.f64)
    }
}

/// rk_mgu_update_backward (mgu.h) for T: writes dg's n part and df; dhrec ← dh⊙(1−f).
@inline(__always)
func mguUpdateBackward<T: Scalar>(n: Int, h: Int, g: UnsafePointer<T>, hprev: UnsafePointer<T>, dup: UnsafePointer<T>,
                                  ldup: Int, dhrec: UnsafeMutablePointer<T>, df: UnsafeMutablePointer<T>,
                                  dg: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_mgu_update_backward_f32(n, h, g.f32, hprev.f32, dup.f32, ldup, dhrec.f32, df.f32, dg.f32)
    } else {
        rk_mgu_update_backward_f64(n, h, g.f64, hprev.f64, dup.f64, ldup, dhrec.f64, df.f64, dg.f64)
    }
}

/// rk_mgu_forget_backward (mgu.h) for T: writes dg's f part; dhrec += dfh⊙f.
@inline(__always)
func mguForgetBackward<T: Scalar>(n: Int, h: Int, hprev: UnsafePointer<T>, dfh: UnsafePointer<T>, df: UnsafePointer<T>,
                                  dhrec: UnsafeMutablePointer<T>, dg: UnsafeMutablePointer<T>) {
    if T.self == Float.self {
        rk_mgu_forget_backward_f32(n, h, hprev.f32, dfh.f32, df.f32, dhrec.f32, dg.f32)
    } else {
        rk_mgu_forget_backward_f64(n, h, hprev.f64, dfh.f64, df.f64, dhrec.f64, dg.f64)
    }
}
