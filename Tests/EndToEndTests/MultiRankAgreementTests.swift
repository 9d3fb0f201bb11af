import Foundation
import XCTest

/// The global batch is defined once, whatever the world size: one process, `mpirun -np 2` and
/// `mpirun -np 4` train the same model. In Float mode the sums are taken in different orders, so
/// the weights agree to rounding; in deterministic mode they agree bit for bit.
final class MultiRankAgreementTests: MultiRankTestCase {
    /// Far above Float rounding after 30 steps of a tiny model, far below what a wrong shard,
    /// mask or normalisation does.
    let floatTolerance: Float = 1e-5

    /// Trains at np 1 (plain process), 2 and 4 and returns the step-30 weights in that order,
    /// after checking that training moved the weights far more than the tolerance (so agreement
    /// is not the agreement of untouched initial values).
    func trainAtEveryWorldSize(_ settings: [String], file: StaticString = #filePath,
                               line: UInt = #line) throws -> [(ranks: Int, weights: SafetensorsFile)] {
        let config = try writeConfig(extra: ["checkpoint": ["every: 10"]])
        var out: [(Int, SafetensorsFile)] = []
        for ranks in [0, 2, 4] {
            let dir = try train(ranks: ranks, config: config, runDir: "np\(ranks)", settings, file: file, line: line)
            out.append((max(ranks, 1), try weights(dir, step: 30, file: file, line: line)))
        }
        let first = scratch.appendingPathComponent("np0")
        let moved = largestDifference(try weights(first, step: 10, file: file, line: line), out[0].1)
        XCTAssertGreaterThan(moved, 100 * floatTolerance, "training from step 10 to 30 barely moved the weights",
                             file: file, line: line)
        return out
    }

    /// Adam's ε is raised from 1e-8 to 1e-6 here. Adam divides by √v + ε, so on its first update
    /// a gradient entry that nearly cancels (|g| ≈ ε) turns the absolute rounding of the sum
    /// (~1e-10, different for every split of the batch) into a weight change of ~lr·1e-10/ε.
    /// Measured on the fill-in-the-middle model at np 4: max |Δ| 2.2e-5 with ε 1e-8, all of it
    /// present after step 1 and unchanged by step 30; 1.2e-7 with ε 1e-5; 6e-8 with plain SGD.
    static let floatSettings = ["optimizer.eps=1e-6"]

    func assertFloatAgreement(_ settings: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let runs = try trainAtEveryWorldSize(settings + Self.floatSettings, file: file, line: line)
        for run in runs.dropFirst() {
            assertClose(runs[0].weights, run.weights, tolerance: floatTolerance,
                        "np 1 vs np \(run.ranks) (\(settings.joined(separator: " ")))", file: file, line: line)
        }
    }

    func assertDeterministicAgreement(_ settings: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let runs = try trainAtEveryWorldSize(settings + ["train.deterministic=true"], file: file, line: line)
        for run in runs.dropFirst() {
            assertBitIdentical(runs[0].weights, run.weights,
                               "deterministic np 1 vs np \(run.ranks) (\(settings.joined(separator: " ")))", file: file, line: line)
        }
    }

    // MARK: Sending only the embedding rows a step touched

    /// Sentences of 600 invented words: a vocabulary of about 600, where a step (B 8, τ 8) looks up
    /// at most 64 rows, so the embedding's sum sends only those (`TouchedRows`).
    func manyWordsCorpus() throws -> URL {
        let url = scratch.appendingPathComponent("many-words.txt")
        try MultiRankTestCase.corpusText(bytes: 30000, words: (0..<600).map { "w\($0)" })
            .write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    var manyWords: [String] {
        get throws { ["data.tokenizer=word", "data.path=\(try manyWordsCorpus().path)", "model.dropout=0.2"] }
    }

    /// The packed sum is taken at 2 ranks (the bench reports the rows it sent, fewer than the
    /// vocabulary), and at 2 and 4 ranks the weights are one process's, bit for bit; one process
    /// sums nothing.
    func testSendingOnlyTheTouchedEmbeddingRowsIsBitIdenticalInDeterministicMode() throws {
        let config = try writeConfig(extra: ["bench": ["vocabulary: 600", "warmup: 1"]])
        let bench = try runTool(ranks: 2, ["bench", "--config", config.path, "--json", "--steps", "2"])
        XCTAssertEqual(bench.status, 0, bench.output)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any], bench.output)
        let rows = try XCTUnwrap(report["embeddingRowsSent"] as? Double, bench.stdout)
        XCTAssertGreaterThan(rows, 0, "the embedding was summed whole:\n\(bench.stdout)")
        XCTAssertLessThanOrEqual(rows, 64, "more rows than a step has tokens:\n\(bench.stdout)")
        try assertDeterministicAgreement(try manyWords)
    }

    func testSendingOnlyTheTouchedEmbeddingRowsAgreesInFloatMode() throws {
        try assertFloatAgreement(try manyWords)
    }

    /// Sharded, each owner gets the pieces of the touched rows in its shard.
    func testSendingOnlyTheTouchedEmbeddingRowsShardedIsBitIdenticalInDeterministicMode() throws {
        try assertDeterministicAgreement(try manyWords + ["train.shard_optimizer=true"])
    }

    // MARK: Float mode

    func testFloatStreamModeWithDropoutAgreesAcrossWorldSizes() throws {
        try assertFloatAgreement(["data.mode=stream", "model.dropout=0.2"])
    }

    func testFloatWindowsModeWithDropoutAgreesAcrossWorldSizes() throws {
        try assertFloatAgreement(["data.mode=windows", "model.dropout=0.2"])
    }

    func testFloatFillInTheMiddleWithDropoutAgreesAcrossWorldSizes() throws {
        try assertFloatAgreement(["model.bidirectional=true", "data.mode=windows", "data.task=fill-in-the-middle",
                                  "model.dropout=0.2"])
    }

    /// The sharded update sums each piece on its owner in another order than the allreduce.
    func testFloatShardedUpdateAgreesAcrossWorldSizes() throws {
        try assertFloatAgreement(["data.mode=stream", "model.dropout=0.2", "train.shard_optimizer=true"])
    }

    // MARK: Deterministic mode

    func testDeterministicStreamModeWithDropoutIsBitIdenticalAcrossWorldSizes() throws {
        try assertDeterministicAgreement(["data.mode=stream", "model.dropout=0.2"])
    }

    func testDeterministicWindowsModeWithDropoutIsBitIdenticalAcrossWorldSizes() throws {
        try assertDeterministicAgreement(["data.mode=windows", "model.dropout=0.2"])
    }

    /// bf16 too: a group's products have the same shapes at every world size, and oneDNN's
    /// result for a row does not depend on the rows beside it (BF16ProductsTests).
    func testDeterministicBF16StreamModeIsBitIdenticalAcrossWorldSizes() throws {
        try assertDeterministicAgreement(["data.mode=stream", "model.dropout=0.2", "train.precision=bf16"])
    }

    /// Groups of two sequences: the per-step products have two rows, not one.
    func testDeterministicBF16WindowsModeInGroupsOfTwoIsBitIdenticalAcrossWorldSizes() throws {
        try assertDeterministicAgreement(["data.mode=windows", "train.precision=bf16", "train.deterministic_group=2"])
    }
}
