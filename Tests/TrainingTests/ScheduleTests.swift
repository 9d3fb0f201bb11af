@testable import Config
import Foundation
import Training
import XCTest

/// Learning-rate schedules against their closed forms. `step` counts completed steps: the rate
/// returned is the one of update `step + 1`.
final class ScheduleTests: XCTestCase {
    private let lr = 0.02

    private func schedule(_ type: ScheduleKind, _ edit: (inout ScheduleConfig) -> Void = { _ in }) -> ScheduleConfig {
        var s = ScheduleConfig()
        s.type = type
        edit(&s)
        return s
    }

    private func assertRate(_ s: ScheduleConfig, step: Int, total: Int, _ expected: Double,
                            file: StaticString = #filePath, line: UInt = #line) {
        let actual = s.learningRate(base: lr, step: step, total: total)
        XCTAssertEqual(actual, expected, accuracy: 1e-12 * lr, "step \(step) of \(total)", file: file, line: line)
    }

    func testConstant() {
        let s = schedule(.constant)
        for step in [0, 1, 7, 99, 1000] { assertRate(s, step: step, total: 100, lr) }
    }

    /// lr · γ^⌊step / step_size⌋.
    func testStepDecay() {
        let s = schedule(.step) { $0.stepSize = 4; $0.gamma = 0.5 }
        for step in 0..<20 {
            assertRate(s, step: step, total: 20, lr * pow(0.5, Double(step / 4)))
        }
        // Check a few by hand, so a wrong floor (or a ceiling) shows plainly.
        assertRate(s, step: 3, total: 20, lr)
        assertRate(s, step: 4, total: 20, lr / 2)
        assertRate(s, step: 11, total: 20, lr / 4)
        assertRate(s, step: 12, total: 20, lr / 8)
        let g = schedule(.step) { $0.stepSize = 3; $0.gamma = 0.1 }
        assertRate(g, step: 7, total: 20, lr * 0.01)
    }

    /// min_lr + (lr − min_lr)·(1 + cos(π·step/(total − 1)))/2: lr at step 0, min_lr at the last
    /// step total − 1, the midpoint halfway.
    func testCosineFromLRToMinLRAtTheLastStep() {
        let minLR = 0.002, total = 11
        let s = schedule(.cosine) { $0.minLR = minLR }
        for step in 0..<total {
            let progress = Double(step) / Double(total - 1)
            assertRate(s, step: step, total: total, minLR + (lr - minLR) * (1 + cos(.pi * progress)) / 2)
        }
        assertRate(s, step: 0, total: total, lr)
        assertRate(s, step: 5, total: total, (lr + minLR) / 2)
        assertRate(s, step: total - 1, total: total, minLR)
        // Rates fall monotonically and never go below the floor.
        let rates = (0..<total).map { s.learningRate(base: lr, step: $0, total: total) }
        XCTAssertEqual(rates, rates.sorted(by: >))
        XCTAssertGreaterThanOrEqual(s.learningRate(base: lr, step: total + 5, total: total), minLR - 1e-15)
    }

    /// Linear warm-up from 0 over `warmup` updates: update k (step k − 1) gets k/warmup of lr,
    /// a straight line from 0 (before the first update) that reaches lr at the last warm-up update.
    func testLinearWarmupFromZero() {
        let warmup = 5
        let s = schedule(.constant) { $0.warmup = warmup }
        for step in 0..<warmup {
            assertRate(s, step: step, total: 50, lr * Double(step + 1) / Double(warmup))
        }
        // Equal increments, reaching the full rate and staying there.
        let rates = (0..<warmup).map { s.learningRate(base: lr, step: $0, total: 50) }
        for (a, b) in zip(rates, rates.dropFirst()) { XCTAssertEqual(b - a, lr / Double(warmup), accuracy: 1e-15) }
        XCTAssertEqual(rates.last!, lr, accuracy: 1e-15)
        for step in warmup..<(warmup + 10) { assertRate(s, step: step, total: 50, lr) }
    }

    /// After a warm-up of w steps the cosine runs from lr at step w to min_lr at step total − 1.
    func testCosineAfterWarmup() {
        let warmup = 4, total = 14
        let s = schedule(.cosine) { $0.warmup = warmup }
        assertRate(s, step: 0, total: total, lr / Double(warmup))
        for step in warmup..<total {
            let progress = Double(step - warmup) / Double(total - 1 - warmup)
            assertRate(s, step: step, total: total, lr * (1 + cos(.pi * progress)) / 2)
        }
        assertRate(s, step: warmup, total: total, lr)
        assertRate(s, step: total - 1, total: total, 0)
    }
}
