import Foundation
import XCTest

/// Checkpoints are independent of the world size (they hold every stream's state in global order): a run checkpointed at
/// np 4 continues at np 2 or in one process exactly as if it had never stopped. Stream mode, so
/// the carried hidden states of all eight streams must be gathered and handed back in global order.
final class MultiRankResumeTests: MultiRankTestCase {
    /// np 4 to step 15, then (a) `--resume auto` to 30 at np 2 and (b) a copy of the step-15 run
    /// directory resumed to 30 in one process; both must equal one process run straight to 30.
    func resumeAcrossWorldSizes(_ settings: [String]) throws
        -> (straight: SafetensorsFile, viaTwo: SafetensorsFile, viaOne: SafetensorsFile, half: SafetensorsFile) {
        let config = try writeConfig(extra: ["data": ["mode: stream"], "model": ["dropout: 0.2"],
                                             "checkpoint": ["every: 5"]])
        let straight = try train(ranks: 0, config: config, runDir: "straight", settings)
        let four = try train(ranks: 4, config: config, runDir: "four", settings + ["train.steps=15"])
        XCTAssertEqual(checkpoints(four).map(\.lastPathComponent), ["step-00000005", "step-00000010", "step-00000015"])
        let copy = scratch.appendingPathComponent("four-copy")
        try FileManager.default.copyItem(at: four, to: copy)

        try train(ranks: 2, config: config, runDir: "four", settings + ["train.steps=30"], resume: true)
        try train(ranks: 0, config: config, runDir: "four-copy", settings + ["train.steps=30"], resume: true)
        XCTAssertEqual(checkpoints(four).last?.lastPathComponent, "step-00000030")
        XCTAssertEqual(checkpoints(copy).last?.lastPathComponent, "step-00000030")
        return (try weights(straight, step: 30), try weights(four, step: 30), try weights(copy, step: 30),
                try weights(straight, step: 15))
    }

    func testDeterministicCheckpointOfFourRanksResumesBitIdenticallyAtTwoRanksAndInOneProcess() throws {
        let w = try resumeAcrossWorldSizes(["train.deterministic=true"])
        // The resumed steps must matter: step 15 and step 30 are far apart.
        XCTAssertGreaterThan(largestDifference(w.half, w.straight), 1e-3)
        assertBitIdentical(w.straight, w.viaTwo, "np 4 to 15, np 2 to 30 vs one process to 30")
        assertBitIdentical(w.straight, w.viaOne, "np 4 to 15, one process to 30 vs one process to 30")
    }

    func testFloatCheckpointOfFourRanksResumesAtTwoRanksAndInOneProcess() throws {
        let w = try resumeAcrossWorldSizes(MultiRankAgreementTests.floatSettings)
        XCTAssertGreaterThan(largestDifference(w.half, w.straight), 1e-3)
        assertClose(w.straight, w.viaTwo, tolerance: 1e-5, "np 4 to 15, np 2 to 30 vs one process to 30")
        assertClose(w.straight, w.viaOne, tolerance: 1e-5, "np 4 to 15, one process to 30 vs one process to 30")
    }

    /// Resume's refusals are start-up errors like any other: agreed, printed once by rank 0, and
    /// every rank exits with 2. Every checkpoint damaged, then the data changed.
    func testResumeRefusalsEndEveryRankWithOneLine() throws {
        let config = try writeConfig(extra: ["train": ["steps: 10"], "checkpoint": ["every: 5"]])
        let run = try train(ranks: 2, config: config, runDir: "run")
        let args = ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto", "--set", "train.steps=20"]

        let other = scratch.appendingPathComponent("other.txt")
        try MultiRankTestCase.corpusText().replacingOccurrences(of: "river", with: "rivre").write(to: other, atomically: true, encoding: .utf8)
        let data = try runTool(ranks: 2, args + ["--set", "data.path=\(other.path)"])
        XCTAssertEqual(data.status, 2, data.output)
        let dataLines = data.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("rnntrain: ") }
        XCTAssertEqual(dataLines.count, 1, data.stderr)
        XCTAssertTrue(dataLines.first.map { $0.contains("other data") && $0.contains(other.path) } ?? false, data.stderr)

        for step in [5, 10] {
            try FileManager.default.removeItem(at: checkpoint(run, step: step).appendingPathComponent("state.safetensors"))
        }
        let damaged = try runTool(ranks: 2, args)
        XCTAssertEqual(damaged.status, 2, damaged.output)
        let refusals = damaged.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("rnntrain: ") }
        XCTAssertEqual(refusals.count, 1, "rank 0's line, once:\n\(damaged.stderr)")
        XCTAssertTrue(refusals.first.map { $0.contains("none of the 2 checkpoints") && $0.contains("--fresh-if-invalid") } ?? false,
                      damaged.stderr)
        XCTAssertEqual(damaged.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("resume: skipped") }.count, 2,
                       "each rejected checkpoint once:\n\(damaged.stdout)")
    }
}
