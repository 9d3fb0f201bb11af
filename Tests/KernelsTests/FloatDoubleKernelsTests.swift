import Kernels
import TestSupport
import XCTest

/// Every Float kernel against its Double twin on the same (Float-exact) random inputs.
///
/// Bound: each output is at most ~6 Float operations on values of size ≤ 4 (|pre| ≤ 3, gates and
/// upstream gradients ≤ 1), one of them possibly exp/tanh/σ (≤ 4e-7 relative, see
/// FloatActivationAccuracyTests), the others rounding by ≤ 2^-24 each: ≲ 1e-6 in all.
/// So |Float − Double| ≤ 1e-6 + 1e-6·|Double| (measured worst 1.7e-7, in the LSTM's c).
final class FloatDoubleKernelsTests: XCTestCase {
    let n = 3, h = 5
    let absolute = 1e-6, relative = 1e-6

    private func check(_ f: [Double], _ d: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(f, d, absolute: absolute, relative: relative, what, file: file, line: line)
    }

    func testActivation() {
        var random = TestRandom(seed: 21)
        let pre = random.floatExact(n * h, -3, 3)
        for relu in [false, true] {
            check(Kernels<Float>.actForward(relu: relu, pre: pre), Kernels<Double>.actForward(relu: relu, pre: pre),
                  "forward relu \(relu)")
            let out = Kernels<Double>.actForward(relu: relu, pre: pre).map { Double(Float($0)) }
            let ld = h + 1
            let dup = random.floatExact(n * ld), drec = random.floatExact(n * h)
            check(Kernels<Float>.actBackward(n: n, h: h, relu: relu, out: out, dup: dup, ldup: ld, drec: drec),
                  Kernels<Double>.actBackward(n: n, h: h, relu: relu, out: out, dup: dup, ldup: ld, drec: drec),
                  "backward relu \(relu)")
        }
    }

    func testLSTM() {
        var random = TestRandom(seed: 22)
        let gates = random.floatExact(n * 4 * h, -3, 3), cprev = random.floatExact(n * h, -2, 2)
        let f = Kernels<Float>.lstmForward(n: n, h: h, gates: gates, cprev: cprev)
        let d = Kernels<Double>.lstmForward(n: n, h: h, gates: gates, cprev: cprev)
        check(f.gates, d.gates, "forward gates")
        check(f.c, d.c, "forward c")
        check(f.tc, d.tc, "forward tanh c")
        check(f.h, d.h, "forward h")

        // Backward from the same activations (Double's, rounded to Float).
        let act = d.gates.map { Double(Float($0)) }, tc = d.tc.map { Double(Float($0)) }
        let ld = h + 2
        let dup = random.floatExact(n * ld), dhrec = random.floatExact(n * h), dc = random.floatExact(n * h)
        let fb = Kernels<Float>.lstmBackward(n: n, h: h, gates: act, cprev: cprev, tc: tc, dup: dup, ldup: ld, dhrec: dhrec, dc: dc)
        let db = Kernels<Double>.lstmBackward(n: n, h: h, gates: act, cprev: cprev, tc: tc, dup: dup, ldup: ld, dhrec: dhrec, dc: dc)
        check(fb.dgates, db.dgates, "backward dgates")
        check(fb.dc, db.dc, "backward dc")
    }

    func testGRUNotes() {
        var random = TestRandom(seed: 23)
        let g = random.floatExact(n * 3 * h, -3, 3), hprev = random.floatExact(n * h)
        let fr = Kernels<Float>.gruReset(n: n, h: h, g: g, hprev: hprev)
        let dr = Kernels<Double>.gruReset(n: n, h: h, g: g, hprev: hprev)
        check(fr.g, dr.g, "reset gates")
        check(fr.rh, dr.rh, "reset r ⊙ h")
        let rounded = dr.g.map { Double(Float($0)) }
        let fu = Kernels<Float>.gruUpdate(n: n, h: h, g: rounded, hprev: hprev)
        let du = Kernels<Double>.gruUpdate(n: n, h: h, g: rounded, hprev: hprev)
        check(fu.g, du.g, "update gates")
        check(fu.h, du.h, "update h")

        let act = du.g.map { Double(Float($0)) }
        let ld = h + 1
        let dup = random.floatExact(n * ld), dhrec = random.floatExact(n * h), dg = random.floatExact(n * 3 * h)
        let fub = Kernels<Float>.gruUpdateBackward(n: n, h: h, g: act, hprev: hprev, dup: dup, ldup: ld, dhrec: dhrec, dg: dg)
        let dub = Kernels<Double>.gruUpdateBackward(n: n, h: h, g: act, hprev: hprev, dup: dup, ldup: ld, dhrec: dhrec, dg: dg)
        check(fub.dhrec, dub.dhrec, "update backward dhrec")
        check(fub.dg, dub.dg, "update backward dg")

        let drh = random.floatExact(n * h)
        let frb = Kernels<Float>.gruResetBackward(n: n, h: h, g: act, hprev: hprev, drh: drh, dhrec: dhrec, dg: dg)
        let drb = Kernels<Double>.gruResetBackward(n: n, h: h, g: act, hprev: hprev, drh: drh, dhrec: dhrec, dg: dg)
        check(frb.dhrec, drb.dhrec, "reset backward dhrec")
        check(frb.dg, drb.dg, "reset backward dg")
    }

    func testGRULinearBeforeReset() {
        var random = TestRandom(seed: 24)
        let gi = random.floatExact(n * 3 * h, -3, 3), gh = random.floatExact(n * 3 * h, -3, 3)
        let hprev = random.floatExact(n * h)
        let f = Kernels<Float>.gruLBRForward(n: n, h: h, gi: gi, gh: gh, hprev: hprev)
        let d = Kernels<Double>.gruLBRForward(n: n, h: h, gi: gi, gh: gh, hprev: hprev)
        check(f.g, d.g, "forward gates")
        check(f.ghn, d.ghn, "forward ghn")
        check(f.h, d.h, "forward h")

        let act = d.g.map { Double(Float($0)) }
        let ld = h + 3
        let dup = random.floatExact(n * ld), dhrec = random.floatExact(n * h)
        let fb = Kernels<Float>.gruLBRBackward(n: n, h: h, g: act, ghn: d.ghn, hprev: hprev, dup: dup, ldup: ld, dhrec: dhrec)
        let db = Kernels<Double>.gruLBRBackward(n: n, h: h, g: act, ghn: d.ghn, hprev: hprev, dup: dup, ldup: ld, dhrec: dhrec)
        check(fb.dhrec, db.dhrec, "backward dhrec")
        check(fb.dgi, db.dgi, "backward dgi")
        check(fb.dgh, db.dgh, "backward dgh")
    }
}
