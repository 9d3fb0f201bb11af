import Foundation
import Kernels
import TestSupport
import XCTest

/// Summed softmax cross-entropy against a log-sum-exp written here, its gradient against finite
/// differences, and which rows count.
final class SoftmaxCrossEntropyTests: XCTestCase {
    /// V = 37 runs the kernel's 16-wide lanes twice and a tail of 5.
    let rows = 7, V = 37

    private struct Result { var loss: Double; var count: Int; var correct: Int; var logits: [Double] }

    private func run<T: Scalar>(_: T.Type, logits: [Double], targets: [Int32], mask: [UInt8]?, gradient: Bool) -> Result {
        let x = Buffer<T>(doubles: logits)
        var count = 0, correct = 0
        let loss = withExtendedLifetime(x) { targets.withUnsafeBufferPointer { t in
            if let mask {
                return mask.withUnsafeBufferPointer { m in
                    T.softmaxCrossEntropy(rows: rows, vocabulary: V, logits: x.base, bias: nil, targets: t.baseAddress!,
                                          mask: m.baseAddress, gradient: gradient, biasGradient: nil, count: &count,
                                          correct: &correct)
                }
            }
            return T.softmaxCrossEntropy(rows: rows, vocabulary: V, logits: x.base, bias: nil, targets: t.baseAddress!,
                                         mask: nil, gradient: gradient, biasGradient: nil, count: &count, correct: &correct)
        } }
        return Result(loss: loss, count: count, correct: correct, logits: x.doubles)
    }

    /// Row 0 has logits near ±100 (overflows a naive exp); rows 2 and 5 have their target as
    /// the unique largest logit; row 3 is masked out; row 4 has target −1.
    private func problem() -> (logits: [Double], targets: [Int32], mask: [UInt8]) {
        var random = TestRandom(seed: 31)
        var logits = random.floatExact(rows * V, -3, 3)
        for j in 0..<V { logits[j] = Double(Float(random.uniform(-100, 100))) }
        let targets: [Int32] = [4, 36, 0, 7, -1, 20, 15]
        for r in [2, 5] { logits[r * V + Int(targets[r])] = 4 }
        let mask: [UInt8] = [1, 1, 1, 0, 1, 2, 1]
        return (logits, targets, mask)
    }

    private func counts(_ r: Int, mask: [UInt8]?, targets: [Int32]) -> Bool {
        (mask.map { $0[r] != 0 } ?? true) && targets[r] >= 0
    }

    /// Σ over counted rows of log Σ_j e^{x_j} − x_target, with the max subtracted first.
    private func referenceLoss(_ logits: [Double], _ targets: [Int32], _ mask: [UInt8]?) -> (loss: Double, count: Int, correct: Int) {
        var loss = 0.0, count = 0, correct = 0
        for r in 0..<rows where counts(r, mask: mask, targets: targets) {
            let row = Array(logits[(r * V)..<((r + 1) * V)])
            let m = row.max()!
            loss += m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(targets[r])]
            count += 1
            if row.firstIndex(of: m)! == Int(targets[r]) { correct += 1 }
        }
        return (loss, count, correct)
    }

    func testLossCountAndCorrectDouble() {
        let (logits, targets, mask) = problem()
        for useMask in [false, true] {
            let m = useMask ? mask : nil
            let expected = referenceLoss(logits, targets, m)
            for gradient in [false, true] {
                let got = run(Double.self, logits: logits, targets: targets, mask: m, gradient: gradient)
                assertClose(got.loss, expected.loss, relative: 1e-14, "loss mask \(useMask) gradient \(gradient)")
                XCTAssertEqual(got.count, expected.count, "count mask \(useMask)")
                XCTAssertEqual(got.correct, expected.correct, "correct mask \(useMask)")
            }
        }
        XCTAssertEqual(referenceLoss(logits, targets, mask).correct, 2, "the problem has two rows predicted right")
    }

    /// Float exp is ≤ 4e-7 relative per term and the sum is kept in double, so the per-row loss is
    /// within ~1e-6 of its size (about log V ≈ 3.6 or 200 for row 0).
    func testLossFloat() {
        let (logits, targets, mask) = problem()
        let expected = referenceLoss(logits, targets, mask)
        let got = run(Float.self, logits: logits, targets: targets, mask: mask, gradient: true)
        assertClose(got.loss, expected.loss, relative: 1e-6, "Float loss")
        XCTAssertEqual(got.count, expected.count)
        XCTAssertEqual(got.correct, expected.correct)
    }

    func testGradientMatchesFiniteDifferences() {
        let (logits, targets, mask) = problem()
        let step = 1e-5
        var numeric = [Double](repeating: 0, count: logits.count)
        for i in 0..<logits.count {
            var up = logits, down = logits
            up[i] += step
            down[i] -= step
            numeric[i] = (referenceLoss(up, targets, mask).loss - referenceLoss(down, targets, mask).loss) / (2 * step)
        }
        let got = run(Double.self, logits: logits, targets: targets, mask: mask, gradient: true).logits
        // Row 0's loss is ~200, so rounding in the difference quotient is ~200·1e-16/1e-5 = 2e-9.
        assertClose(got, numeric, absolute: 1e-8, "∂loss/∂logits")
    }

    func testRowsThatDoNotCountGetZeroGradient() {
        let (logits, targets, mask) = problem()
        for T in [Float.self, Double.self] as [any Scalar.Type] {
            let got = runAny(T, logits: logits, targets: targets, mask: mask)
            for r in [3, 4] {
                XCTAssertEqual(Array(got[(r * V)..<((r + 1) * V)]), [Double](repeating: 0, count: V), "\(T) row \(r)")
            }
            // A counted row's gradient sums to zero (softmax sums to 1, minus the one-hot).
            let rowSum = got[(V)..<(2 * V)].reduce(0, +)
            XCTAssertEqual(rowSum, 0, accuracy: 1e-6, "\(T) row 1 gradient sum")
        }
    }

    private func runAny(_ type: any Scalar.Type, logits: [Double], targets: [Int32], mask: [UInt8]) -> [Double] {
        func open<T: Scalar>(_: T.Type) -> [Double] { run(T.self, logits: logits, targets: targets, mask: mask, gradient: true).logits }
        return open(type)
    }
}
