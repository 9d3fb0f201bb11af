import Foundation
import Kernels
import TestSupport
import XCTest

/// The Double forward kernels against the cell equations (in each cell's doc comment, Models/Cells) written out here per element.
/// (The backward kernels are held to finite differences of these, so the forward must be right.)
final class DoubleForwardKernelsTests: XCTestCase {
    let n = 2, h = 3
    let tight = 1e-15

    func testActivations() {
        var random = TestRandom(seed: 1)
        let pre = random.array(12, -3, 3)
        assertClose(Kernels<Double>.actForward(relu: false, pre: pre), pre.map(tanh), absolute: tight, relative: tight, "tanh")
        assertClose(Kernels<Double>.actForward(relu: true, pre: pre), pre.map { max($0, 0) }, "relu")
    }

    func testLSTM() {
        var random = TestRandom(seed: 2)
        let gates = random.array(n * 4 * h, -3, 3), cprev = random.array(n * h, -2, 2)
        let out = Kernels<Double>.lstmForward(n: n, h: h, gates: gates, cprev: cprev)
        var act = gates, c = cprev, tc = cprev, hout = cprev
        for r in 0..<n {
            for j in 0..<h {
                let b = r * 4 * h
                let i = sigmoid(gates[b + j]), f = sigmoid(gates[b + h + j])
                let g = tanh(gates[b + 2 * h + j]), o = sigmoid(gates[b + 3 * h + j])
                act[b + j] = i; act[b + h + j] = f; act[b + 2 * h + j] = g; act[b + 3 * h + j] = o
                c[r * h + j] = f * cprev[r * h + j] + i * g
                tc[r * h + j] = tanh(c[r * h + j])
                hout[r * h + j] = o * tc[r * h + j]
            }
        }
        assertClose(out.gates, act, absolute: tight, relative: tight, "activated gates i|f|g|o")
        assertClose(out.c, c, absolute: tight, relative: tight, "c")
        assertClose(out.tc, tc, absolute: tight, relative: tight, "tanh c")
        assertClose(out.h, hout, absolute: tight, relative: tight, "h")
    }

    func testGRUNotes() {
        var random = TestRandom(seed: 3)
        let g = random.array(n * 3 * h, -3, 3), hprev = random.array(n * h)
        let reset = Kernels<Double>.gruReset(n: n, h: h, g: g, hprev: hprev)
        let update = Kernels<Double>.gruUpdate(n: n, h: h, g: reset.g, hprev: hprev)
        var act = g, rh = hprev, hout = hprev
        for r in 0..<n {
            for j in 0..<h {
                let b = r * 3 * h
                let rr = sigmoid(g[b + j]), z = sigmoid(g[b + h + j]), nn = tanh(g[b + 2 * h + j])
                act[b + j] = rr; act[b + h + j] = z; act[b + 2 * h + j] = nn
                rh[r * h + j] = rr * hprev[r * h + j]
                hout[r * h + j] = z * hprev[r * h + j] + (1 - z) * nn
            }
        }
        assertClose(reset.rh, rh, absolute: tight, relative: tight, "r ⊙ h")
        assertClose(update.g, act, absolute: tight, relative: tight, "activated gates r|z|n")
        assertClose(update.h, hout, absolute: tight, relative: tight, "h")
    }

    func testGRULinearBeforeReset() {
        var random = TestRandom(seed: 4)
        let gi = random.array(n * 3 * h, -3, 3), gh = random.array(n * 3 * h, -3, 3), hprev = random.array(n * h)
        let out = Kernels<Double>.gruLBRForward(n: n, h: h, gi: gi, gh: gh, hprev: hprev)
        var act = gi, ghn = hprev, hout = hprev
        for r in 0..<n {
            for j in 0..<h {
                let b = r * 3 * h
                let rr = sigmoid(gi[b + j] + gh[b + j]), z = sigmoid(gi[b + h + j] + gh[b + h + j])
                let nn = tanh(gi[b + 2 * h + j] + rr * gh[b + 2 * h + j])
                act[b + j] = rr; act[b + h + j] = z; act[b + 2 * h + j] = nn
                ghn[r * h + j] = gh[b + 2 * h + j]
                hout[r * h + j] = z * hprev[r * h + j] + (1 - z) * nn
            }
        }
        assertClose(out.g, act, absolute: tight, relative: tight, "activated gates r|z|n")
        assertClose(out.ghn, ghn, "saved h W_hnᵀ + b_hn")
        assertClose(out.h, hout, absolute: tight, relative: tight, "h")
    }
}
