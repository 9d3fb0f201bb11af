import ErrorAssertions
import Foundation
import ModelSpec
@testable import TextData
import XCTest

/// Windows mode on the tokens 0 ..< T (a token's value is its position, so a window's first
/// target tells where it starts).
final class WindowBatchesTests: XCTestCase {
    private let maskToken: Int32 = 100_000

    private func tokens(_ count: Int) -> [Int32] { (0..<Int32(count)).map { $0 } }

    /// lm, τ = 4 (windows of 5 tokens), B = 4, T = 66: ⌊(66 − 5 + 1)/5⌋ = 12 windows, 3 steps an epoch.
    private func lm(count: Int = 66, batch: Int = 4, seed: UInt64 = 11) throws -> WindowBatches {
        try WindowBatches(tokens: tokens(count), globalBatch: batch, steps: 4, seed: seed, fill: nil, source: "positions.txt")
    }

    private func fim(count: Int, steps: Int, rate: Double, batch: Int = 4, seed: UInt64 = 5) throws -> WindowBatches {
        try WindowBatches(tokens: tokens(count), globalBatch: batch, steps: steps, seed: seed,
                          fill: (maskToken, rate), source: "positions.txt")
    }

    /// Every batch of `epoch`, whole (all B sequences).
    private func batches(_ w: WindowBatches, epoch: Int) throws -> [Batch] {
        try (0..<w.stepsPerEpoch).map { index in
            var batch = w.makeBatch(sequences: 0..<w.globalBatch)
            try w.fill(&batch, step: epoch * w.stepsPerEpoch + index, sequences: 0..<w.globalBatch)
            return batch
        }
    }

    /// Start positions of the windows of `epoch`, in visiting order (the first target is the
    /// first token for fill-in-the-middle, the first input + 1 for lm: either way `targets[i] − offset`).
    private func starts(_ w: WindowBatches, epoch: Int) throws -> [Int] {
        let offset = w.fill == nil ? 1 : 0
        return try batches(w, epoch: epoch).flatMap { b in (0..<b.sequences).map { Int(b.targets[$0]) - offset } }
    }

    func testAnEpochVisitsEveryWindowExactlyOnce() throws {
        let w = try lm()
        XCTAssertEqual(w.windowCount, 12)
        XCTAssertEqual(w.stepsPerEpoch, 3)
        var shifts = Set<Int>()
        for epoch in 0..<8 {
            let s = try starts(w, epoch: epoch)
            XCTAssertEqual(s.count, 12)
            let shift = s.min()!
            shifts.insert(shift)
            XCTAssertLessThan(shift, 5, "the grid shift is less than a window")
            XCTAssertTrue(s.allSatisfy { ($0 - shift) % 5 == 0 }, "epoch \(epoch): starts \(s) are not on one grid")
            XCTAssertEqual(s.map { ($0 - shift) / 5 }.sorted(), Array(0..<12), "epoch \(epoch): starts \(s)")
            XCTAssertLessThanOrEqual(s.max()! + 5, 66, "the last window ends inside the text")
        }
        // The grid moves between epochs (all 8 shifts equal has probability 5^-7).
        XCTAssertGreaterThan(shifts.count, 1)
    }

    func testAnEpochNeverRepeatsAWindowWhenTheBatchDoesNotDivideTheWindows() throws {
        let w = try lm(count: 61)  // 11 windows, 2 steps of 4: 8 visited, 3 left out
        XCTAssertEqual(w.windowCount, 11)
        XCTAssertEqual(w.stepsPerEpoch, 2)
        for epoch in 0..<3 {
            let s = try starts(w, epoch: epoch)
            XCTAssertEqual(Set(s).count, 8, "epoch \(epoch): \(s)")
        }
    }

    func testOrderIsAFunctionOfSeedAndEpoch() throws {
        let a = try lm(seed: 11), b = try lm(seed: 11), c = try lm(seed: 12)
        // Ask b in another order first: its permutation cache must not matter.
        let b1 = try starts(b, epoch: 1), b0 = try starts(b, epoch: 0)
        XCTAssertEqual(try starts(a, epoch: 0), b0)
        XCTAssertEqual(try starts(a, epoch: 1), b1)
        func order(_ s: [Int]) -> [Int] { s.map { ($0 - s.min()!) / 5 } }
        // 12! orders: two equal by chance has probability ~2e-9.
        XCTAssertNotEqual(order(try starts(a, epoch: 0)), order(try starts(a, epoch: 1)))
        XCTAssertNotEqual(order(try starts(a, epoch: 0)), order(try starts(c, epoch: 0)))
    }

    func testLMTargetsAreTheInputsShiftedByOne() throws {
        let w = try lm()
        for batch in try batches(w, epoch: 1) {
            let n = batch.sequences
            XCTAssertNil(batch.mask)
            for i in 0..<n {
                let start = batch.inputs[i]
                for t in 0..<4 {
                    XCTAssertEqual(batch.inputs[t * n + i], start + Int32(t))
                    XCTAssertEqual(batch.targets[t * n + i], start + Int32(t) + 1)
                }
            }
        }
    }

    /// Sequences 0..<2 and 2..<4 of a step, filled separately (two ranks or micro-batches),
    /// are the columns of the whole batch.
    func testSplittingTheBatchReadsTheSameWindows() throws {
        for w in [try lm(), try fim(count: 200, steps: 8, rate: 0.3)] {
            var whole = w.makeBatch(sequences: 0..<4)
            try w.fill(&whole, step: 4, sequences: 0..<4)
            for range in [0..<2, 2..<4] {
                var part = w.makeBatch(sequences: range)
                try w.fill(&part, step: 4, sequences: range)
                XCTAssertEqual(part.firstSequence, range.lowerBound)
                for t in 0..<w.steps {
                    for (i, g) in range.enumerated() {
                        XCTAssertEqual(part.inputs[t * 2 + i], whole.inputs[t * 4 + g])
                        XCTAssertEqual(part.targets[t * 2 + i], whole.targets[t * 4 + g])
                        XCTAssertEqual(part.mask?[t * 2 + i], whole.mask?[t * 4 + g])
                    }
                }
            }
        }
    }

    /// Masked inputs are the mask token, every target is the original token, other inputs are
    /// untouched, and every window scores at least one position.
    func testFillInTheMiddleMasksInputsAndKeepsTargets() throws {
        let w = try fim(count: 400, steps: 8, rate: 0.3)
        XCTAssertEqual(w.span, 8)
        for epoch in 0..<2 {
            for batch in try batches(w, epoch: epoch) {
                let n = batch.sequences
                guard let mask = batch.mask else { return XCTFail("no mask") }
                for i in 0..<n {
                    let start = batch.targets[i]
                    var masked = 0
                    for t in 0..<8 {
                        let k = t * n + i
                        XCTAssertEqual(batch.targets[k], start + Int32(t), "targets are the original tokens")
                        XCTAssertTrue(mask[k] == 0 || mask[k] == 1)
                        if mask[k] != 0 {
                            XCTAssertEqual(batch.inputs[k], maskToken)
                            masked += 1
                        } else {
                            XCTAssertEqual(batch.inputs[k], start + Int32(t))
                        }
                    }
                    XCTAssertGreaterThanOrEqual(masked, 1, "window at \(start) scores nothing")
                }
            }
        }
    }

    /// With τ = 64 (a window without a drawn mask has probability 0.85^64 ≈ 3e-5) the masked
    /// fraction is Binomial(N, r)/N: within 4σ = 4·√(r(1−r)/N) of mask_rate.
    func testMaskedFractionMatchesMaskRate() throws {
        let rate = 0.15
        let w = try fim(count: 64 * 101, steps: 64, rate: rate)  // 100 windows
        var masked = 0, total = 0
        for epoch in 0..<2 {
            for batch in try batches(w, epoch: epoch) {
                masked += batch.mask!.reduce(0) { $0 + Int($1) }
                total += batch.mask!.count
            }
        }
        XCTAssertEqual(total, 2 * 100 * 64)
        let sigma = (rate * (1 - rate) / Double(total)).squareRoot()
        XCTAssertEqual(Double(masked) / Double(total), rate, accuracy: 4 * sigma)
    }

    /// With short windows the "at least one" rule adds a position to windows that drew none:
    /// per window M = X if X > 0 else 1, X ~ Binomial(τ, r). So E[M] = τr + (1−r)^τ and
    /// E[M²] = τr(1−r) + (τr)² + (1−r)^τ; the fraction over W windows is within 4σ of E[M]/τ.
    func testMaskedFractionWithShortWindowsCountsTheForcedPosition() throws {
        let rate = 0.15, tau = 4
        let w = try fim(count: 4 * 1001, steps: tau, rate: rate)  // 1000 windows
        XCTAssertEqual(w.windowCount, 1000)
        var masked = 0, windows = 0
        for batch in try batches(w, epoch: 0) {
            masked += batch.mask!.reduce(0) { $0 + Int($1) }
            windows += batch.sequences
        }
        let p0 = pow(1 - rate, Double(tau)), mean = Double(tau) * rate + p0
        let variance = Double(tau) * rate * (1 - rate) + pow(Double(tau) * rate, 2) + p0 - mean * mean
        let sigma = (variance / Double(windows)).squareRoot()
        XCTAssertEqual(Double(masked) / Double(windows), mean, accuracy: 4 * sigma)
    }

    /// Evaluation reads windows first, first + 1, … in file order, no grid shift.
    func testFillInOrderIsInFileOrder() throws {
        let f = try fim(count: 200, steps: 8, rate: 0.3)
        var batch = f.makeBatch(sequences: 0..<3)
        try f.fillInOrder(&batch, first: 5)
        XCTAssertEqual((0..<3).map { batch.targets[$0] }, [40, 48, 56])
        let l = try lm()
        var lmBatch = l.makeBatch(sequences: 0..<3)
        try l.fillInOrder(&lmBatch, first: 2)
        XCTAssertEqual((0..<3).map { lmBatch.inputs[$0] }, [10, 15, 20])
        XCTAssertEqual((0..<3).map { lmBatch.targets[3 * 3 + $0] }, [14, 19, 24])
    }

    func testTooFewWindowsIsAUserErrorNamingTheSource() throws {
        // 20 tokens hold ⌊16/5⌋ = 3 windows of 5 at any shift: fewer than B = 4.
        let message = thrownMessage { _ = try self.lm(count: 20) }
        XCTAssertTrue(message.contains("positions.txt"), message)
        XCTAssertTrue(message.contains("train.global_batch"), message)
        XCTAssertEqual(try lm(count: 24).windowCount, 4)
        XCTAssertTrue(thrownMessage { _ = try self.fim(count: 3, steps: 4, rate: 0.5, batch: 1) }.contains("positions.txt"))
    }
}
