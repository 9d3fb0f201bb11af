@testable import Config
import Foundation
import Kernels
import Training
import XCTest

/// `nonfiniteResults` predicts what an update would write: for every rule, on buffers built so
/// that some results overflow Float and some do not, the count equals the number of infinite or
/// NaN values the update then writes into parameters and moments, and counting changes nothing.
final class OptimizerOverflowTests: XCTestCase {
    /// Entries 0 and 3 sit near Float's largest value, so a large step pushes them (and, through
    /// d², the second moments) past it; the others stay small.
    private let start: [Float] = [3.0e38, 0.5, -1.25, -3.0e38, 2.0, 0.0]
    private let gradient: [Float] = [-1e30, 0.1, -0.4, 1e30, 1.5, 0.0]

    private func rules() -> [(String, OptimizerConfig)] {
        func make(_ type: OptimizerKind, _ edit: (inout OptimizerConfig) -> Void = { _ in }) -> OptimizerConfig {
            var c = OptimizerConfig()
            c.type = type
            edit(&c)
            return c
        }
        return [("sgd", make(.sgd)), ("sgd momentum", make(.sgd) { $0.momentum = 0.9 }),
                ("sgd nesterov", make(.sgd) { $0.momentum = 0.9; $0.nesterov = true }),
                ("adam", make(.adam)), ("adamw", make(.adamw) { $0.weightDecay = 0.01 }), ("rmsprop", make(.rmsprop))]
    }

    func testCountEqualsTheNonfiniteValuesTheUpdateWrites() {
        for (name, config) in rules() {
            for lr in [1e-3, 1e10] {
                var optimizer = Optimizer(config: config, parameterCount: start.count)
                let p = Buffer<Float>(start), g = Buffer<Float>(gradient)
                let predicted = optimizer.nonfiniteResults(parameters: p, gradients: g, gradientScale: 1, lr: lr)
                XCTAssertEqual(p.array.map(\.bitPattern), start.map(\.bitPattern), "\(name) lr \(lr): counting wrote parameters")
                XCTAssertEqual(g.array.map(\.bitPattern), gradient.map(\.bitPattern), "\(name) lr \(lr): counting wrote the gradient")
                XCTAssertTrue((optimizer.first.array + optimizer.second.array).allSatisfy { $0 == 0 }, "\(name): counting wrote moments")

                optimizer.updateAndClearGradient(parameters: p, gradients: g, gradientScale: 1, lr: lr)
                let written = (p.array + optimizer.first.array + optimizer.second.array).filter { !$0.isFinite }.count
                XCTAssertEqual(predicted, written, "\(name) lr \(lr)")
                if lr > 1 { XCTAssertGreaterThan(written, 0, "\(name): the large step must overflow for the test to mean anything") }
            }
        }
    }

    /// Adam's d² overflows for a gradient of 1e30 at any learning rate: the count includes the
    /// second moments, not only the weights.
    func testAdamCountsAnOverflowingSecondMoment() {
        var c = OptimizerConfig()
        c.type = .adam
        let optimizer = Optimizer(config: c, parameterCount: 2)
        let n = optimizer.nonfiniteResults(parameters: Buffer<Float>([0, 0]), gradients: Buffer<Float>([1e30, 1]),
                                           gradientScale: 1, lr: 1e-3)
        XCTAssertEqual(n, 1)
    }
}

/// `updateIsFinite`'s promise, held to the kernels at the corners of its box: weights and first
/// moments at ±2^40, second moments at 2^80, scaled gradients at ±2^40, and every setting at the
/// largest value it accepts; each update it accepts writes only finite values, and the count it
/// returns says the box was left (so the next step asks again).
final class OptimizerBoxTests: XCTestCase {
    private let box: Float = 0x1p40

    func testAcceptedUpdatesAtTheBoxCornersAreFinite() {
        var configs: [(String, OptimizerConfig, Double)] = []
        func add(_ name: String, _ type: OptimizerKind, lr: Double, _ edit: (inout OptimizerConfig) -> Void) {
            var c = OptimizerConfig()
            c.type = type
            edit(&c)
            configs.append((name, c, lr))
        }
        add("sgd", .sgd, lr: 0x1p20) { $0.weightDecay = 0x1p20 }
        add("sgd nesterov", .sgd, lr: 0x1p20) { $0.weightDecay = 0x1p20; $0.momentum = 0x1p20; $0.nesterov = true }
        add("adam", .adam, lr: 0x1p20) { $0.weightDecay = 0x1p20; $0.eps = 0x1p-40; $0.beta1 = 0; $0.beta2 = 0.5 }
        add("adamw", .adamw, lr: 0x1p19) { $0.weightDecay = 0x1p20; $0.eps = 0x1p-40; $0.beta1 = 0.5 }
        add("rmsprop", .rmsprop, lr: 0x1p20) { $0.weightDecay = 0x1p20; $0.eps = 0x1p-40; $0.alpha = 0 }
        let p: [Float] = [box, box, -box, -box], g: [Float] = [box, -box, box, -box]
        for (name, config, lr) in configs {
            for (m, v) in [(box, box * box), (-box, box * box), (0, 0)] {
                var o = Optimizer(config: config, parameterCount: p.count)
                XCTAssertTrue(o.updateIsFinite(gradientBound: Double(box), lr: lr), "\(name): the corner is inside the box")
                o.first.base.update(repeating: m, count: o.first.count)
                o.second.base.update(repeating: v, count: o.second.count)
                let weights = Buffer<Float>(p)
                let outside = o.updateAndClearGradient(parameters: weights, gradients: Buffer<Float>(g), gradientScale: 1, lr: lr)
                let written = weights.array + o.first.array + o.second.array
                XCTAssertTrue(written.allSatisfy(\.isFinite), "\(name) m \(m) v \(v): \(written)")
                XCTAssertGreaterThan(outside, 0, "\(name): the update left the box and must say so")
            }
        }
    }

    func testSettingsBeyondTheBoundsAreNotPromised() {
        var adam = OptimizerConfig()
        adam.eps = 0
        XCTAssertFalse(Optimizer(config: adam, parameterCount: 1).updateIsFinite(gradientBound: 1, lr: 1e-3), "eps 0 divides by 0")
        XCTAssertFalse(Optimizer(config: OptimizerConfig(), parameterCount: 1).updateIsFinite(gradientBound: 0x1p41, lr: 1e-3))
        var sgd = OptimizerConfig()
        sgd.type = .sgd
        XCTAssertFalse(Optimizer(config: sgd, parameterCount: 1).updateIsFinite(gradientBound: 1, lr: 0x1p41))
        XCTAssertTrue(Optimizer(config: sgd, parameterCount: 1).updateIsFinite(gradientBound: 1, lr: 3))
    }

    /// Inside the box the update reports zero, which is what lets the next step skip the count.
    func testAnOrdinaryUpdateStaysInTheBox() {
        var o = Optimizer(config: OptimizerConfig(), parameterCount: 3)
        XCTAssertEqual(o.updateAndClearGradient(parameters: Buffer<Float>([0.5, -2, 1e6]), gradients: Buffer<Float>([1, -1, 0.25]),
                                                gradientScale: 1, lr: 1e-3), 0)
    }
}
