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
