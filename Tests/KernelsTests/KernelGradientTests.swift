import Foundation
import Kernels
import TestSupport
import XCTest

/// Each Double backward kernel against central finite differences of its forward kernel. The
/// scalar is a random linear functional of the forward outputs, L = Σ w ⊙ outputs; the backward
/// kernel is handed w as the upstream gradients.
final class KernelGradientTests: XCTestCase {
    let n = 2, h = 3
    /// Central differences with step 1e-5 on O(1) functions: truncation ~1e-10·|f'''|,
    /// rounding ~1e-16/1e-5 = 1e-11; 1e-8 leaves room and still catches any wrong term.
    let step = 1e-5, tolerance = 1e-8

    /// ∂f/∂x[i] for every i.
    private func numericGradient(_ x: [Double], _ f: ([Double]) -> Double) -> [Double] {
        (0..<x.count).map { i in
            var up = x, down = x
            up[i] += step
            down[i] -= step
            return (f(up) - f(down)) / (2 * step)
        }
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Rows of width h copied into rows of width ld (the rest is noise the kernel must not read).
    private func padded(_ x: [Double], width: Int, ld: Int, noise: Double = 99) -> [Double] {
        var out = [Double](repeating: noise, count: x.count / width * ld)
        for r in 0..<x.count / width { for j in 0..<width { out[r * ld + j] = x[r * width + j] } }
        return out
    }

    func testActivation() {
        var random = TestRandom(seed: 11)
        for relu in [false, true] {
            // Keep relu inputs away from its kink, where the difference quotient is meaningless.
            let pre = random.array(n * h, 0.1, 2).map { random.uniform(0, 1) < 0.5 ? -$0 : $0 }
            let w1 = random.array(n * h), w2 = random.array(n * h)
            let w = zip(w1, w2).map { $0 + $1 }
            let expected = numericGradient(pre) { dot(w, Kernels<Double>.actForward(relu: relu, pre: $0)) }
            let out = Kernels<Double>.actForward(relu: relu, pre: pre)
            let ld = h + 2
            let withRecurrent = Kernels<Double>.actBackward(n: n, h: h, relu: relu, out: out,
                                                            dup: padded(w1, width: h, ld: ld), ldup: ld, drec: w2)
            assertClose(withRecurrent, expected, absolute: tolerance, relative: tolerance, "relu \(relu) dup + drec")
            let upOnly = Kernels<Double>.actBackward(n: n, h: h, relu: relu, out: out, dup: w, ldup: h, drec: nil)
            assertClose(upOnly, expected, absolute: tolerance, relative: tolerance, "relu \(relu) drec nil")
        }
    }

    func testLSTM() {
        var random = TestRandom(seed: 12)
        let gates = random.array(n * 4 * h, -2, 2), cprev = random.array(n * h, -2, 2)
        let wh1 = random.array(n * h), wh2 = random.array(n * h), wc = random.array(n * h)
        let wh = zip(wh1, wh2).map { $0 + $1 }
        func loss(_ gates: [Double], _ cprev: [Double]) -> Double {
            let out = Kernels<Double>.lstmForward(n: n, h: h, gates: gates, cprev: cprev)
            return dot(wh, out.h) + dot(wc, out.c)
        }
        let forward = Kernels<Double>.lstmForward(n: n, h: h, gates: gates, cprev: cprev)
        let ld = h + 1
        let back = Kernels<Double>.lstmBackward(n: n, h: h, gates: forward.gates, cprev: cprev, tc: forward.tc,
                                                dup: padded(wh1, width: h, ld: ld), ldup: ld, dhrec: wh2, dc: wc)
        assertClose(back.dgates, numericGradient(gates) { loss($0, cprev) },
                    absolute: tolerance, relative: tolerance, "∂L/∂gates i|f|g|o")
        assertClose(back.dc, numericGradient(cprev) { loss(gates, $0) },
                    absolute: tolerance, relative: tolerance, "∂L/∂c_{t-1}")
    }

    /// The notes' GRU as its kernels run in a step, without the W_hn GEMM between them:
    /// L = Σ a ⊙ h_t + Σ b ⊙ (r ⊙ h_{t-1}). Update backward, then reset backward, give ∂L/∂g and ∂L/∂h_{t-1}.
    func testGRUNotes() {
        var random = TestRandom(seed: 13)
        let g = random.array(n * 3 * h, -2, 2), hprev = random.array(n * h)
        let a1 = random.array(n * h), a2 = random.array(n * h), b = random.array(n * h)
        let a = zip(a1, a2).map { $0 + $1 }
        func loss(_ g: [Double], _ hprev: [Double]) -> Double {
            let reset = Kernels<Double>.gruReset(n: n, h: h, g: g, hprev: hprev)
            let update = Kernels<Double>.gruUpdate(n: n, h: h, g: reset.g, hprev: hprev)
            return dot(a, update.h) + dot(b, reset.rh)
        }
        let reset = Kernels<Double>.gruReset(n: n, h: h, g: g, hprev: hprev)
        let activated = Kernels<Double>.gruUpdate(n: n, h: h, g: reset.g, hprev: hprev).g
        let ld = h + 3
        let untouched = 1234.5
        let update = Kernels<Double>.gruUpdateBackward(n: n, h: h, g: activated, hprev: hprev,
                                                       dup: padded(a1, width: h, ld: ld), ldup: ld, dhrec: a2,
                                                       dg: [Double](repeating: untouched, count: n * 3 * h))
        for r in 0..<n {
            XCTAssertEqual(Array(update.dg[(r * 3 * h)..<(r * 3 * h + h)]), [Double](repeating: untouched, count: h),
                           "update backward must leave the r part of row \(r) to the reset backward")
        }
        let full = Kernels<Double>.gruResetBackward(n: n, h: h, g: activated, hprev: hprev, drh: b,
                                                    dhrec: update.dhrec, dg: update.dg)
        assertClose(full.dg, numericGradient(g) { loss($0, hprev) },
                    absolute: tolerance, relative: tolerance, "∂L/∂g r|z|n")
        assertClose(full.dhrec, numericGradient(hprev) { loss(g, $0) },
                    absolute: tolerance, relative: tolerance, "∂L/∂h_{t-1}")
    }

    /// L = Σ a ⊙ h_t with gi, gh and h_{t-1} independent inputs: ∂L/∂h_{t-1} is then the direct path z ⊙ dh.
    func testGRULinearBeforeReset() {
        var random = TestRandom(seed: 14)
        let gi = random.array(n * 3 * h, -2, 2), gh = random.array(n * 3 * h, -2, 2), hprev = random.array(n * h)
        let a1 = random.array(n * h), a2 = random.array(n * h)
        let a = zip(a1, a2).map { $0 + $1 }
        func loss(_ gi: [Double], _ gh: [Double], _ hprev: [Double]) -> Double {
            dot(a, Kernels<Double>.gruLBRForward(n: n, h: h, gi: gi, gh: gh, hprev: hprev).h)
        }
        let forward = Kernels<Double>.gruLBRForward(n: n, h: h, gi: gi, gh: gh, hprev: hprev)
        let ld = h + 2
        let back = Kernels<Double>.gruLBRBackward(n: n, h: h, g: forward.g, ghn: forward.ghn, hprev: hprev,
                                                  dup: padded(a1, width: h, ld: ld), ldup: ld, dhrec: a2)
        assertClose(back.dgi, numericGradient(gi) { loss($0, gh, hprev) },
                    absolute: tolerance, relative: tolerance, "∂L/∂gi")
        assertClose(back.dgh, numericGradient(gh) { loss(gi, $0, hprev) },
                    absolute: tolerance, relative: tolerance, "∂L/∂gh")
        assertClose(back.dhrec, numericGradient(hprev) { loss(gi, gh, $0) },
                    absolute: tolerance, relative: tolerance, "∂L/∂h_{t-1}")
    }
}
