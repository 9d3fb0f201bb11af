import Foundation
import XCTest

/// `train.reduce: bf16`: gradients on a bf16 wire with error feedback. In deterministic mode the
/// rounding and the residuals belong to the fixed groups, so the weights are the same bits at
/// every world size, sharded or not; checkpoints carry the residuals, so a resume goes on exactly.
final class BF16WireTests: MultiRankTestCase {
    func wireConfig(deterministic: Bool) throws -> URL {
        try writeConfig(extra: ["model": ["hidden: 64", "embedding: 32"], "data": ["mode: stream"],
                                "train": ["deterministic: \(deterministic)", "reduce: bf16"], "clip": ["max_norm: 0.5"],
                                "checkpoint": ["every: 10"]])
    }

    func testDeterministicBF16WireIsBitIdenticalAtOneTwoAndFourRanks() throws {
        let config = try wireConfig(deterministic: true)
        let reference = try train(ranks: 0, config: config, runDir: "np1")
        let expected = try weights(reference, step: 30)
        let fp32 = try train(ranks: 0, config: config, runDir: "fp32", ["train.reduce=fp32"])
        XCTAssertGreaterThan(largestDifference(try weights(fp32, step: 30), expected), 0, "the bf16 wire changed nothing")
        let state = try SafetensorsFile(url: checkpoint(reference, step: 30).appendingPathComponent("state.safetensors"))
        XCTAssertEqual(state.entries["reduce.residual"]?.shape.first, 8, "one residual row per group of one sequence")
        for (ranks, sharded) in [(2, false), (4, false), (2, true)] {
            let run = try train(ranks: ranks, config: config, runDir: "np\(ranks)-\(sharded)", ["train.shard_optimizer=\(sharded)"])
            assertBitIdentical(expected, try weights(run, step: 30), "np \(ranks) shard_optimizer \(sharded) vs np 1")
            let saved = try SafetensorsFile(url: checkpoint(run, step: 30).appendingPathComponent("state.safetensors"))
            XCTAssertEqual(saved.data("reduce.residual"), state.data("reduce.residual"), "np \(ranks): residuals differ")
        }
    }

    /// Train 10, stop, resume to 20 == straight 20, at np 2 in the default (Float) mode, where the
    /// residuals are per rank; and in deterministic mode from np 4 to one process.
    func testResumeWithTheResidualIsExact() throws {
        for (deterministic, first, second) in [(false, 2, 2), (true, 4, 0)] {
            let config = try wireConfig(deterministic: deterministic)
            let tag = deterministic ? "det" : "float"
            let straight = try train(ranks: 2, config: config, runDir: "straight-\(tag)", ["train.steps=20"])
            let run = try train(ranks: first, config: config, runDir: "resumed-\(tag)", ["train.steps=10"])
            let state = try SafetensorsFile(url: checkpoint(run, step: 10).appendingPathComponent("state.safetensors"))
            XCTAssertTrue(state.floats("reduce.residual").contains { $0 != 0 }, "\(tag): no residual saved")
            try train(ranks: second, config: config, runDir: "resumed-\(tag)", ["train.steps=20"], resume: true)
            assertBitIdentical(try weights(straight, step: 20), try weights(run, step: 20), "\(tag): 10 + resumed 10 vs straight 20")
        }
    }

    /// Per-rank residuals resumed at another world size: summed into the first rank's, said once.
    func testResumeAtAnotherWorldSizeSumsTheResidualsAndSaysSo() throws {
        let config = try wireConfig(deterministic: false)
        let run = try train(ranks: 2, config: config, runDir: "two", ["train.steps=10"])
        let r = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto",
                                       "--set", "train.steps=20"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("bf16-wire residuals of 2 ranks, this run 1: their sum goes to the first"), r.stderr)
        let state = try SafetensorsFile(url: checkpoint(run, step: 20).appendingPathComponent("state.safetensors"))
        XCTAssertEqual(state.entries["reduce.residual"]?.shape.first, 1)
    }
}
