import Kernels
@testable import Models

/// Each fused kernel as a function of Double arrays, run in T: the accuracy, Float-vs-Double and
/// finite-difference tests call the same wrappers. Shapes as in kernels.h.
enum Kernels<T: Scalar> {
    /// pre is [rows × width] with width = bias.count when a bias is given, else one row.
    static func actForward(relu: Bool, pre: [Double], bias: [Double]? = nil) -> [Double] {
        let p = Buffer<T>(doubles: pre), out = Buffer<T>(count: pre.count), b = bias.map { Buffer<T>(doubles: $0) }
        let width = bias?.count ?? pre.count
        withExtendedLifetime((p, out, b)) {
            T.actForward(rows: pre.count / width, width: width, relu: relu, pre: p.base,
                         bias: b.map { UnsafePointer($0.base) }, out: out.base)
        }
        return out.doubles
    }

    /// dup is [n × ldup]; drec may be nil.
    static func actBackward(n: Int, h: Int, relu: Bool, out: [Double], dup: [Double], ldup: Int,
                            drec: [Double]?) -> [Double] {
        let o = Buffer<T>(doubles: out), du = Buffer<T>(doubles: dup), dp = Buffer<T>(count: n * h)
        let dr = drec.map { Buffer<T>(doubles: $0) }
        withExtendedLifetime((o, du, dp, dr)) {
            T.actBackward(n: n, h: h, relu: relu, out: o.base, dup: du.base, ldup: ldup, drec: dr.map { UnsafePointer($0.base) },
                          dpre: dp.base)
        }
        return dp.doubles
    }

    static func lstmForward(n: Int, h: Int, gates: [Double], cprev: [Double], bias: [Double]? = nil)
        -> (gates: [Double], c: [Double], tc: [Double], h: [Double]) {
        let g = Buffer<T>(doubles: gates), cp = Buffer<T>(doubles: cprev), b = bias.map { Buffer<T>(doubles: $0) }
        let c = Buffer<T>(count: n * h), tc = Buffer<T>(count: n * h), ho = Buffer<T>(count: n * h)
        withExtendedLifetime((g, cp, c, tc, ho, b)) {
            Models.lstmForward(n: n, h: h, gates: g.base, bias: b.map { UnsafePointer($0.base) }, cprev: cp.base, c: c.base,
                          tc: tc.base, hout: ho.base)
        }
        return (g.doubles, c.doubles, tc.doubles, ho.doubles)
    }

    static func lstmBackward(n: Int, h: Int, gates: [Double], cprev: [Double], tc: [Double], dup: [Double],
                             ldup: Int, dhrec: [Double], dc: [Double]) -> (dc: [Double], dgates: [Double]) {
        let g = Buffer<T>(doubles: gates), cp = Buffer<T>(doubles: cprev), t = Buffer<T>(doubles: tc)
        let du = Buffer<T>(doubles: dup), dr = Buffer<T>(doubles: dhrec), d = Buffer<T>(doubles: dc)
        let dg = Buffer<T>(count: n * 4 * h)
        withExtendedLifetime((g, cp, t, du, dr, d, dg)) {
            Models.lstmBackward(n: n, h: h, gates: g.base, cprev: cp.base, tc: t.base, dup: du.base, ldup: ldup,
                           dhrec: dr.base, dc: d.base, dgates: dg.base)
        }
        return (d.doubles, dg.doubles)
    }

    static func gruReset(n: Int, h: Int, g: [Double], hprev: [Double], bias: [Double]? = nil) -> (g: [Double], rh: [Double]) {
        let gb = Buffer<T>(doubles: g), hp = Buffer<T>(doubles: hprev), rh = Buffer<T>(count: n * h)
        let b = bias.map { Buffer<T>(doubles: $0) }
        withExtendedLifetime((gb, hp, rh, b)) {
            Models.gruReset(n: n, h: h, g: gb.base, bias: b.map { UnsafePointer($0.base) }, hprev: hp.base, rh: rh.base)
        }
        return (gb.doubles, rh.doubles)
    }

    static func gruUpdate(n: Int, h: Int, g: [Double], hprev: [Double], bias: [Double]? = nil) -> (g: [Double], h: [Double]) {
        let gb = Buffer<T>(doubles: g), hp = Buffer<T>(doubles: hprev), ho = Buffer<T>(count: n * h)
        let b = bias.map { Buffer<T>(doubles: $0) }
        withExtendedLifetime((gb, hp, ho, b)) {
            Models.gruUpdate(n: n, h: h, g: gb.base, bias: b.map { UnsafePointer($0.base) }, hprev: hp.base, hout: ho.base)
        }
        return (gb.doubles, ho.doubles)
    }

    /// dg starts as `dg` so the test can see which parts the kernel writes.
    static func gruUpdateBackward(n: Int, h: Int, g: [Double], hprev: [Double], dup: [Double], ldup: Int,
                                  dhrec: [Double], dg: [Double]) -> (dhrec: [Double], dg: [Double]) {
        let gb = Buffer<T>(doubles: g), hp = Buffer<T>(doubles: hprev), du = Buffer<T>(doubles: dup)
        let dr = Buffer<T>(doubles: dhrec), d = Buffer<T>(doubles: dg)
        withExtendedLifetime((gb, hp, du, dr, d)) {
            Models.gruUpdateBackward(n: n, h: h, g: gb.base, hprev: hp.base, dup: du.base, ldup: ldup, dhrec: dr.base, dg: d.base)
        }
        return (dr.doubles, d.doubles)
    }

    static func gruResetBackward(n: Int, h: Int, g: [Double], hprev: [Double], drh: [Double], dhrec: [Double],
                                 dg: [Double]) -> (dhrec: [Double], dg: [Double]) {
        let gb = Buffer<T>(doubles: g), hp = Buffer<T>(doubles: hprev), d = Buffer<T>(doubles: drh)
        let dr = Buffer<T>(doubles: dhrec), dgb = Buffer<T>(doubles: dg)
        withExtendedLifetime((gb, hp, d, dr, dgb)) {
            Models.gruResetBackward(n: n, h: h, g: gb.base, hprev: hp.base, drh: d.base, dhrec: dr.base, dg: dgb.base)
        }
        return (dr.doubles, dgb.doubles)
    }

    static func gruLBRForward(n: Int, h: Int, gi: [Double], gh: [Double], hprev: [Double], bias: [Double]? = nil)
        -> (g: [Double], ghn: [Double], h: [Double]) {
        let a = Buffer<T>(doubles: gi), b = Buffer<T>(doubles: gh), hp = Buffer<T>(doubles: hprev)
        let ghn = Buffer<T>(count: n * h), ho = Buffer<T>(count: n * h), bi = bias.map { Buffer<T>(doubles: $0) }
        withExtendedLifetime((a, b, hp, ghn, ho, bi)) {
            Models.gruLBRForward(n: n, h: h, gi: a.base, bias: bi.map { UnsafePointer($0.base) }, gh: b.base, hprev: hp.base,
                            ghn: ghn.base, hout: ho.base)
        }
        return (a.doubles, ghn.doubles, ho.doubles)
    }

    static func gruLBRBackward(n: Int, h: Int, g: [Double], ghn: [Double], hprev: [Double], dup: [Double],
                               ldup: Int, dhrec: [Double]) -> (dhrec: [Double], dgi: [Double], dgh: [Double]) {
        let gb = Buffer<T>(doubles: g), s = Buffer<T>(doubles: ghn), hp = Buffer<T>(doubles: hprev)
        let du = Buffer<T>(doubles: dup), dr = Buffer<T>(doubles: dhrec)
        let dgi = Buffer<T>(count: n * 3 * h), dgh = Buffer<T>(count: n * 3 * h)
        withExtendedLifetime((gb, s, hp, du, dr, dgi, dgh)) {
            Models.gruLBRBackward(n: n, h: h, g: gb.base, ghn: s.base, hprev: hp.base, dup: du.base, ldup: ldup,
                             dhrec: dr.base, dgi: dgi.base, dgh: dgh.base)
        }
        return (dr.doubles, dgi.doubles, dgh.doubles)
    }
}
