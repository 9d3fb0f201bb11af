import Collectives
import Foundation
import TestSupport
import Training
import TrainingSupport
import XCTest

/// Rank 0's view of a world of `size` ranks in one process: collectives leave rank 0's buffers
/// as they are (as if the other ranks added zeros). Enough to drive code paths that depend on
/// the world size without MPI.
private final class RankZeroOf: Communicator {
    let size: Int
    init(size: Int) { self.size = size }
    var rank: Int { 0 }
    var hosts: [String] { Array(repeating: "test", count: size) }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {}
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction {
        try SingleProcessCommunicator().startAllreduceSum(buffer)
    }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction {
        try SingleProcessCommunicator().startAllreduceSum(buffer)
    }
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> Reduction { Reduction() }
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>, root: Int) throws -> Reduction { Reduction() }
    func startAllreduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>) throws -> Reduction { Reduction() }
    func startReduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>, root: Int) throws -> Reduction { Reduction() }
    func test(_ reductions: [Reduction]) throws -> Bool { true }
    func wait(_ reductions: [Reduction]) throws {}
    var timeout = Double.infinity
    var step = 0
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws {
        guard let receive, let base = send.baseAddress, send.count > 0 else { return }
        receive.baseAddress!.copyMemory(from: base, byteCount: send.count)
    }
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        receive.initializeMemory(as: UInt8.self, repeating: 0)
        guard let base = send.baseAddress, send.count > 0 else { return }
        receive.baseAddress!.copyMemory(from: base, byteCount: send.count)
    }
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {}
    func gather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>?, parts: [Range<Int>],
                root: Int) throws {
        guard let receive, let base = send.baseAddress, send.count > 0 else { return }
        (receive.baseAddress! + parts[0].lowerBound).update(from: base, count: send.count)
    }
    func barrier() throws {}
    func send(_ bytes: UnsafeRawBufferPointer, to peer: Int) throws { fatalError("no rank \(peer) to send to") }
    func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: Int) throws { fatalError("no rank \(peer) to receive from") }
    func abort(_ message: String) -> Never { fatalError(message) }
    func finish() {}
}

/// `Trainer.validate` shrinks the number of evaluation streams to fit a short validation text,
/// down to one per rank, and returns nil when even that does not fit (fewer than streams + 1
/// tokens). It must never fail on a text it has judged long enough.
final class TrainerValidationTests: XCTestCase {
    private func trainer(validation: String, ranks: Int, _ overrides: [String] = []) throws -> Trainer {
        let directory = try temporaryDirectory(self, "validation")
        let train = directory.appendingPathComponent("train.txt"), val = directory.appendingPathComponent("val.txt")
        try Data(TrainingTestFixtures.text.utf8).write(to: train)
        try Data(validation.utf8).write(to: val)
        let config = try TrainingTestFixtures.config(path: train.path, ["data.val_path=\(val.path)"] + overrides)
        return try Trainer(config: config, corpus: try TrainingTestFixtures.corpus(config), comm: RankZeroOf(size: ranks))
    }

    /// One process: one stream, T − 1 scored tokens; a single token is no validation set.
    func testShortTextOnOneRank() throws {
        XCTAssertEqual(try trainer(validation: "the cat", ranks: 1).validate()?.count, 6)
        XCTAssertNil(try trainer(validation: "a", ranks: 1).validate())
    }

    /// Four ranks (global batch 4, one stream each): 5 tokens hold 4 streams of one input each
    /// (L = ⌊4/4⌋ = 1), and `validate` judges them enough (5 ≥ 4 + 1), so it must evaluate them,
    /// not throw a "too few tokens" error from the middle of a training run.
    func testShortTextOnFourRanksIsEvaluatedNotAnError() throws {
        let t = try trainer(validation: "the c", ranks: 4)
        XCTAssertEqual(t.corpus.validation.count, 5)
        let result = try t.validate()
        // Rank 0 scores its own stream: one token.
        XCTAssertEqual(result?.count, 1)
    }

    /// Fill-in-the-middle scores windows of τ tokens; `validate` evaluates once the text holds
    /// τ tokens. A text of exactly τ = 6 tokens holds one window: it must be scored (or skipped
    /// as too short), never turned into an error in the middle of a training run.
    func testFillInTheMiddleTextOfOneWindowIsNotAnError() throws {
        let t = try trainer(validation: "the ca", ranks: 1, ["data.mode=windows", "data.task=fill-in-the-middle",
                                                             "model.bidirectional=true"])
        XCTAssertEqual(t.corpus.validation.count, 6)
        do {
            if let result = try t.validate() {
                XCTAssertGreaterThanOrEqual(result.count, 1)
                XCTAssertLessThanOrEqual(result.count, 6)
            }
        } catch {
            XCTFail("validate threw on a text of one window: \(error)")
        }
        // Two windows' worth is scored.
        let longer = try trainer(validation: "the cat sat", ranks: 1, ["data.mode=windows", "data.task=fill-in-the-middle",
                                                                       "model.bidirectional=true"])
        XCTAssertGreaterThanOrEqual(try longer.validate()?.count ?? 0, 1)
    }
}
