import Kernels
import TestSupport
import XCTest

/// The forward kernels add the bias themselves (so the model never writes it over the whole
/// pre-activation block): a kernel given a bias must equal the kernel given pre + bias.
final class KernelBiasTests: XCTestCase {
    private let n = 3, h = 5
    private var random = TestRandom(seed: 77)

    private func broadcast(_ pre: [Double], _ bias: [Double]) -> [Double] {
        pre.indices.map { pre[$0] + bias[$0 % bias.count] }
    }

    func testActivation() {
        let pre = random.floatExact(n * h, -2, 2), bias = random.floatExact(h, -1, 1)
        for relu in [false, true] {
            assertClose(Kernels<Double>.actForward(relu: relu, pre: pre, bias: bias),
                        Kernels<Double>.actForward(relu: relu, pre: broadcast(pre, bias)), absolute: 1e-15, relative: 1e-15,
                        "relu \(relu)")
        }
    }

    func testLSTM() {
        let gates = random.floatExact(n * 4 * h, -2, 2), bias = random.floatExact(4 * h, -1, 1)
        let cprev = random.floatExact(n * h, -1, 1)
        let a = Kernels<Double>.lstmForward(n: n, h: h, gates: gates, cprev: cprev, bias: bias)
        let b = Kernels<Double>.lstmForward(n: n, h: h, gates: broadcast(gates, bias), cprev: cprev)
        assertClose(a.gates, b.gates, absolute: 1e-15, relative: 1e-15, "activations")
        assertClose(a.h, b.h, absolute: 1e-15, relative: 1e-15, "h")
    }

    func testGRU() {
        let g = random.floatExact(n * 3 * h, -2, 2), bias = random.floatExact(3 * h, -1, 1)
        let hprev = random.floatExact(n * h, -1, 1)
        let reset = Kernels<Double>.gruReset(n: n, h: h, g: g, hprev: hprev, bias: bias)
        let plain = Kernels<Double>.gruReset(n: n, h: h, g: broadcast(g, bias), hprev: hprev)
        assertClose(reset.rh, plain.rh, absolute: 1e-15, relative: 1e-15, "r ⊙ h")
        assertClose(Kernels<Double>.gruUpdate(n: n, h: h, g: reset.g, hprev: hprev, bias: bias).h,
                    Kernels<Double>.gruUpdate(n: n, h: h, g: broadcast(reset.g, bias.enumerated().map { $0.offset >= 2 * h ? $0.element : 0 }), hprev: hprev).h,
                    absolute: 1e-15, relative: 1e-15, "update adds the candidate's bias only")
        let gh = random.floatExact(n * 3 * h, -2, 2)
        assertClose(Kernels<Double>.gruLBRForward(n: n, h: h, gi: g, gh: gh, hprev: hprev, bias: bias).h,
                    Kernels<Double>.gruLBRForward(n: n, h: h, gi: broadcast(g, bias), gh: gh, hprev: hprev).h,
                    absolute: 1e-15, relative: 1e-15, "linear-before-reset")
    }

    /// The softmax adds the decoder bias in place and sums ∂loss/∂logits by column into dbias.
    func testSoftmaxBiasAndItsGradient() {
        let rows = 4, V = 19
        let logits = random.floatExact(rows * V, -3, 3), bias = random.floatExact(V, -1, 1)
        let targets: [Int32] = [3, -1, 18, 0]
        func run(_ x: [Double], _ b: [Double]?) -> (loss: Double, dlogits: [Double], dbias: [Double]) {
            let xb = Buffer<Double>(doubles: x), bb = b.map { Buffer<Double>(doubles: $0) }, db = Buffer<Double>(count: V)
            var count = 0, correct = 0
            let loss = withExtendedLifetime((xb, bb, db)) {
                targets.withUnsafeBufferPointer { t in
                    Double.softmaxCrossEntropy(rows: rows, vocabulary: V, logits: xb.base, bias: bb.map { UnsafePointer($0.base) },
                                               targets: t.baseAddress!, mask: nil, gradient: true, biasGradient: db.base,
                                               count: &count, correct: &correct)
                }
            }
            return (loss, xb.doubles, db.doubles)
        }
        let withBias = run(logits, bias), shifted = run(broadcast(logits, bias), nil)
        XCTAssertEqual(withBias.loss, shifted.loss, accuracy: 1e-12)
        assertClose(withBias.dlogits, shifted.dlogits, absolute: 1e-15, relative: 1e-15, "∂logits")
        let columnSums = (0..<V).map { j in (0..<rows).reduce(0.0) { $0 + shifted.dlogits[$1 * V + j] } }
        assertClose(withBias.dbias, columnSums, absolute: 1e-14, relative: 1e-14, "∂bias = column sums of ∂logits")
        XCTAssertGreaterThan(withBias.dbias.map(abs).max()!, 1e-3, "the bias gradient is not trivially zero")
    }
}
