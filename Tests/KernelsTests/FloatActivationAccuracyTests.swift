import Foundation
import Kernels
import TestSupport
import XCTest

/// The Float kernels' polynomial exp, sigmoid and tanh against Double libm, reached through the
/// public kernels: `actForward(relu: false)` is tanh; `lstmForward` with all four gate blocks
/// equal to x and c_{t-1} = 0 returns σ(x) in i, f, o and tanh(x) in g.
///
/// Bound: relative error ≤ 4e-7. A Float ulp is 2^-24 … 2^-23 (6e-8 … 1.2e-7) relative, so this
/// allows 3.4 ulp at the top of a binade and 6.7 at the bottom, enough for the polynomial's
/// 1–2 ulp plus the 1 − 2/(e^{2x}+1) cancellation just above |x| = 0.25 (measured 2.7e-7 at
/// x ≈ 0.27). Exp is clamped to 2^-126 below −87.3, so σ(x) for x < −87.3 is allowed the
/// absolute error 2^-125 (≈ 2.4e-38) instead; tanh has no such region.
final class FloatActivationAccuracyTests: XCTestCase {
    let relative = 4e-7
    let belowNormal = 0x1p-125

    /// A dense grid over [−100, 100] (every range reduction interval and both saturation
    /// regions) plus tiny magnitudes 1e-30 … 1 of both signs, all exactly representable in Float.
    private var grid: [Double] {
        let dense = (0...40_000).map { -100 + 200 * Double($0) / 40_000 }
        let tiny = (0...300).map { pow(10, -30 + Double($0) / 10) }
        return (dense + tiny + tiny.map { -$0 } + [0, 1e-6, -1e-6, 0.25, -0.25, 9, -9]).map { Double(Float($0)) }
    }

    func testTanh() {
        let x = grid
        assertClose(Kernels<Float>.actForward(relu: false, pre: x), x.map(tanh), relative: relative, "tanh")
    }

    func testSigmoidAndGateTanh() {
        let x = grid, N = x.count
        let out = Kernels<Float>.lstmForward(n: 1, h: N, gates: x + x + x + x, cprev: [Double](repeating: 0, count: N))
        let expectedSigmoid = x.map(sigmoid)
        let allowance = { (i: Int) in max(self.relative * expectedSigmoid[i], self.belowNormal) }
        for (block, name) in [(0, "i"), (1, "f"), (3, "o")] {
            assertClose(Array(out.gates[(block * N)..<((block + 1) * N)]), expectedSigmoid, allowed: allowance,
                        "σ in gate \(name)")
        }
        assertClose(Array(out.gates[(2 * N)..<(3 * N)]), x.map(tanh), relative: relative, "tanh in gate g")
    }

    /// For x < −17, 1 + e^{-x} rounds to e^{-x} in Float, so σ(x) is 1/exp(−x): its relative error is
    /// the exp polynomial's (plus one division). Checked alone so a failure points at exp.
    func testExpThroughDeepNegativeSigmoid() {
        let x = (0...7000).map { Double(Float(-87 + 70 * Double($0) / 7000)) }
        let N = x.count
        let out = Kernels<Float>.lstmForward(n: 1, h: N, gates: x + x + x + x, cprev: [Double](repeating: 0, count: N))
        assertClose(Array(out.gates[0..<N]), x.map { exp($0) / (1 + exp($0)) }, relative: relative, "exp(x) for x in [−87, −17]")
    }

    /// A NaN pre-activation must stay NaN, as it does in the Double kernels (libm): a diverging
    /// Float run has to surface as a NaN loss, not be squashed into ±1 and trained on.
    func testNaNPropagatesLikeDouble() {
        let x = [Double.nan]
        XCTAssertTrue(Kernels<Double>.actForward(relu: false, pre: x)[0].isNaN, "Double tanh(NaN)")
        let tanhF = Kernels<Float>.actForward(relu: false, pre: x)[0]
        XCTAssertTrue(tanhF.isNaN, "Float tanh(NaN) gave \(tanhF)")
        let gates = Kernels<Float>.lstmForward(n: 1, h: 1, gates: [.nan, .nan, .nan, .nan], cprev: [0]).gates
        XCTAssertTrue(gates[0].isNaN, "Float σ(NaN) gave \(gates[0])")
        XCTAssertTrue(gates[2].isNaN, "Float tanh(NaN) in gate g gave \(gates[2])")
    }
}
