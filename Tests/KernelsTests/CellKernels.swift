import CKernels
import Kernels

// The recurrent cells' step kernels for T, as Models/Cells binds them (there privately, one cell
// per file), so the kernel tests here call the same C functions the cells do.

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
