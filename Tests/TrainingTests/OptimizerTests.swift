@testable import Config
import Foundation
import Kernels
import TestSupport
import Training
import TrainingSupport
import XCTest

/// Three updates of every rule on a 5-element buffer against the algorithms of the torch.optim
/// documentation (SGD, Adam, AdamW, RMSprop pseudocode), written out below in Double.
final class OptimizerTests: XCTestCase {
    private let start: [Double] = [0.5, -1.25, 2.0, 0.0, -0.3]
    /// Raw gradients of the three updates (a zero, sign changes, a large and a small entry).
    private let rawGradients: [[Double]] = [
        [0.1, -0.4, 1.5, 0.0, -2.0],
        [-0.3, 0.2, 0.7, 0.05, 1.0],
        [0.25, -0.6, -0.9, 0.4, 0.0],
    ]
    /// Not a power of two, so a missed or doubled scaling shows.
    private let scale = 0.3
    private let lr = 0.1

    /// Float against Double over three updates: each Float operation rounds to 2^-24 relative,
    /// a few dozen of them touch each element, so 1e-5 relative (plus 1e-6 near zero) is ample
    /// and still a thousand times smaller than any mistake in a rule would make.
    private let relative = 1e-5, absolute = 1e-6

    private func config(_ type: OptimizerKind, _ edit: (inout OptimizerConfig) -> Void = { _ in }) -> OptimizerConfig {
        var c = OptimizerConfig()
        c.type = type
        c.lr = lr
        edit(&c)
        return c
    }

    /// Runs the three updates; returns parameters and moments after each.
    private func run(_ config: OptimizerConfig) -> [(p: [Float], first: [Float], second: [Float])] {
        var optimizer = Optimizer(config: config, parameterCount: start.count)
        let parameters = Buffer<Float>(start.map(Float.init))
        var out: [(p: [Float], first: [Float], second: [Float])] = []
        for g in rawGradients {
            optimizer.updateAndClearGradient(parameters: parameters, gradients: Buffer<Float>(g.map(Float.init)),
                             gradientScale: Float(scale), lr: lr)
            out.append((parameters.array, optimizer.first.array, optimizer.second.array))
        }
        return out
    }

    private func check(_ config: OptimizerConfig, _ reference: [(p: [Double], first: [Double], second: [Double])],
                       file: StaticString = #filePath, line: UInt = #line) {
        let actual = run(config)
        for (k, (a, r)) in zip(actual, reference).enumerated() {
            assertClose(a.p, r.p, relative: relative, absolute: absolute, "parameters after update \(k + 1)", file: file, line: line)
            assertClose(a.first, r.first, relative: relative, absolute: absolute, "first moment after update \(k + 1)", file: file, line: line)
            assertClose(a.second, r.second, relative: relative, absolute: absolute, "second moment after update \(k + 1)", file: file, line: line)
        }
    }

    // MARK: References (torch.optim pseudocode, dampening 0, maximize false, amsgrad false, centered false)

    /// torch.optim.SGD: g ← g + λθ; b ← g on the first step, else μb + g; g ← g + μb (Nesterov) or b; θ ← θ − γg.
    private func sgdReference(momentum mu: Double, weightDecay wd: Double, nesterov: Bool) -> [(p: [Double], first: [Double], second: [Double])] {
        var theta = start, b = [Double](repeating: 0, count: start.count)
        var out: [(p: [Double], first: [Double], second: [Double])] = []
        for (t, raw) in rawGradients.enumerated() {
            for i in theta.indices {
                var g = scale * raw[i] + wd * theta[i]
                if mu != 0 {
                    b[i] = t == 0 ? g : mu * b[i] + g
                    g = nesterov ? g + mu * b[i] : b[i]
                }
                theta[i] -= lr * g
            }
            out.append((theta, mu != 0 ? b : [], []))
        }
        return out
    }

    /// torch.optim.Adam (L2 in the gradient) and AdamW (θ ← θ(1 − γλ) first):
    /// m ← β1m + (1−β1)g; v ← β2v + (1−β2)g²; θ ← θ − γ m̂ / (√v̂ + ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
    private func adamReference(decoupled: Bool, weightDecay wd: Double, beta1 b1: Double, beta2 b2: Double,
                               eps: Double) -> [(p: [Double], first: [Double], second: [Double])] {
        var theta = start
        var m = [Double](repeating: 0, count: start.count), v = m
        var out: [(p: [Double], first: [Double], second: [Double])] = []
        for (k, raw) in rawGradients.enumerated() {
            let t = Double(k + 1)
            for i in theta.indices {
                var g = scale * raw[i]
                if decoupled { theta[i] *= 1 - lr * wd } else { g += wd * theta[i] }
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let mHat = m[i] / (1 - pow(b1, t)), vHat = v[i] / (1 - pow(b2, t))
                theta[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            out.append((theta, m, v))
        }
        return out
    }

    /// torch.optim.RMSprop: g ← g + λθ; v ← αv + (1−α)g²; θ ← θ − γ g / (√v + ε).
    private func rmspropReference(alpha: Double, eps: Double, weightDecay wd: Double) -> [(p: [Double], first: [Double], second: [Double])] {
        var theta = start, v = [Double](repeating: 0, count: start.count)
        var out: [(p: [Double], first: [Double], second: [Double])] = []
        for raw in rawGradients {
            for i in theta.indices {
                let g = scale * raw[i] + wd * theta[i]
                v[i] = alpha * v[i] + (1 - alpha) * g * g
                theta[i] -= lr * g / (v[i].squareRoot() + eps)
            }
            out.append((theta, [], v))
        }
        return out
    }

    // MARK: Tests

    func testPlainSGD() {
        check(config(.sgd), sgdReference(momentum: 0, weightDecay: 0, nesterov: false))
    }

    func testSGDWithWeightDecay() {
        check(config(.sgd) { $0.weightDecay = 0.2 }, sgdReference(momentum: 0, weightDecay: 0.2, nesterov: false))
    }

    func testSGDMomentum() {
        check(config(.sgd) { $0.momentum = 0.9; $0.weightDecay = 0.05 },
              sgdReference(momentum: 0.9, weightDecay: 0.05, nesterov: false))
    }

    func testSGDNesterov() {
        check(config(.sgd) { $0.momentum = 0.8; $0.nesterov = true; $0.weightDecay = 0.05 },
              sgdReference(momentum: 0.8, weightDecay: 0.05, nesterov: true))
    }

    func testAdam() {
        check(config(.adam) { $0.beta1 = 0.8; $0.beta2 = 0.95; $0.eps = 1e-3 },
              adamReference(decoupled: false, weightDecay: 0, beta1: 0.8, beta2: 0.95, eps: 1e-3))
    }

    func testAdamWithL2WeightDecay() {
        check(config(.adam) { $0.weightDecay = 0.3; $0.eps = 1e-8 },
              adamReference(decoupled: false, weightDecay: 0.3, beta1: 0.9, beta2: 0.999, eps: 1e-8))
    }

    func testAdamWDecoupledWeightDecay() {
        check(config(.adamw) { $0.weightDecay = 0.3; $0.beta1 = 0.85; $0.beta2 = 0.99; $0.eps = 1e-6 },
              adamReference(decoupled: true, weightDecay: 0.3, beta1: 0.85, beta2: 0.99, eps: 1e-6))
    }

    func testAdamWDiffersFromAdamWithL2() {
        // The two decays must not coincide, or the two tests above could not tell them apart.
        let l2 = adamReference(decoupled: false, weightDecay: 0.3, beta1: 0.85, beta2: 0.99, eps: 1e-6).last!.p
        let decoupled = run(config(.adamw) { $0.weightDecay = 0.3; $0.beta1 = 0.85; $0.beta2 = 0.99; $0.eps = 1e-6 }).last!.p
        let largest = zip(l2, decoupled).map { abs($0 - Double($1)) }.max()!
        XCTAssertGreaterThan(largest, 1e-3)
    }

    func testRMSprop() {
        check(config(.rmsprop) { $0.alpha = 0.9; $0.eps = 1e-4; $0.weightDecay = 0.1 },
              rmspropReference(alpha: 0.9, eps: 1e-4, weightDecay: 0.1))
    }

    /// `gradientScale` multiplies the gradient: scale 1/4 on g and scale 1 on g/4 are the same
    /// update (both exact in binary floating point), so the results agree bit for bit.
    func testGradientScaleScalesTheGradient() {
        for type in OptimizerKind.allCases {
            var c = config(type)
            if type == .sgd { c.momentum = 0.9 }
            var a = Optimizer(config: c, parameterCount: start.count)
            var b = Optimizer(config: c, parameterCount: start.count)
            let pa = Buffer<Float>(start.map(Float.init)), pb = Buffer<Float>(start.map(Float.init))
            for g in rawGradients {
                a.updateAndClearGradient(parameters: pa, gradients: Buffer<Float>(g.map(Float.init)), gradientScale: 0.25, lr: lr)
                b.updateAndClearGradient(parameters: pb, gradients: Buffer<Float>(g.map { Float($0 / 4) }), gradientScale: 1, lr: lr)
            }
            XCTAssertEqual(TrainingTestFixtures.bits(pa), TrainingTestFixtures.bits(pb), "\(type)")
        }
        // And the scale is not ignored: plain SGD with scale 1/4 moves a quarter as far as with scale 1.
        for s in [Float(1), 0.25] {
            var o = Optimizer(config: config(.sgd), parameterCount: start.count)
            let p = Buffer<Float>(start.map(Float.init))
            o.updateAndClearGradient(parameters: p, gradients: Buffer<Float>(rawGradients[0].map(Float.init)), gradientScale: s, lr: lr)
            let expected = zip(start, rawGradients[0]).map { $0 - lr * Double(s) * $1 }
            assertClose(p.array, expected, relative: relative, absolute: absolute, "scale \(s)")
        }
    }

    /// The state PyTorch keeps: SGD a momentum buffer only with momentum, Adam/AdamW exp_avg and
    /// exp_avg_sq, RMSprop square_avg; all zero before the first update.
    func testMomentsExistOnlyWhereTheRuleKeepsThemAndStartAtZero() {
        let n = start.count
        let cases: [(OptimizerConfig, Int, Int)] = [
            (config(.sgd), 0, 0),
            (config(.sgd) { $0.momentum = 0.5 }, n, 0),
            (config(.adam), n, n),
            (config(.adamw), n, n),
            (config(.rmsprop), 0, n),
        ]
        for (c, firstCount, secondCount) in cases {
            let o = Optimizer(config: c, parameterCount: n)
            XCTAssertEqual(o.first.count, firstCount, "\(c.type) momentum \(c.momentum)")
            XCTAssertEqual(o.second.count, secondCount, "\(c.type) momentum \(c.momentum)")
            XCTAssertTrue(o.first.array.allSatisfy { $0 == 0 } && o.second.array.allSatisfy { $0 == 0 })
            XCTAssertEqual(o.updates, 0)
        }
    }

    /// Moments change only inside an optimizer's own `update`: updating a second optimizer (same
    /// config, other parameters) leaves the first one's moments and count as they were, and the
    /// first one's next update then continues exactly as if nothing had happened in between.
    func testMomentsChangeOnlyInOwnUpdate() {
        let c = config(.adam) { $0.beta1 = 0.8; $0.beta2 = 0.95; $0.eps = 1e-3 }
        var a = Optimizer(config: c, parameterCount: start.count)
        var other = Optimizer(config: c, parameterCount: start.count)
        let p = Buffer<Float>(start.map(Float.init))
        a.updateAndClearGradient(parameters: p, gradients: Buffer<Float>(rawGradients[0].map(Float.init)), gradientScale: Float(scale), lr: lr)
        let first = a.first.array, second = a.second.array
        XCTAssertTrue(first.contains { $0 != 0 } && second.contains { $0 != 0 })
        let q = Buffer<Float>([3, 3, 3, 3, 3])
        for _ in 0..<2 {
            other.updateAndClearGradient(parameters: q, gradients: Buffer<Float>([9, -9, 9, -9, 9]), gradientScale: 1, lr: lr)
        }
        XCTAssertEqual(a.first.array, first)
        XCTAssertEqual(a.second.array, second)
        XCTAssertEqual(a.updates, 1)
        for g in rawGradients.dropFirst() {
            a.updateAndClearGradient(parameters: p, gradients: Buffer<Float>(g.map(Float.init)), gradientScale: Float(scale), lr: lr)
        }
        let reference = adamReference(decoupled: false, weightDecay: 0, beta1: 0.8, beta2: 0.95, eps: 1e-3).last!
        assertClose(p.array, reference.p, relative: relative, absolute: absolute, "parameters after update 3")
    }
}
