import Foundation
import XCTest

/// `rnntrain ngram` from a prepared dataset (mapped, counted a piece at a time) and within a
/// memory budget (`ngram.memory`: sorted runs spilled to disk and merged): the model.arpa is byte
/// for byte the one counted in memory from the text, at np 1 and 2.
final class NGramPreparedAndSpillTests: MultiRankTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // 200 KB: 40 k words, shards that cut thousands of sentences.
        try MultiRankTestCase.corpusText(bytes: 200_000).write(to: corpus, atomically: true, encoding: .utf8)
    }

    private func prepare(_ config: URL, _ tokenizer: String) throws -> URL {
        let out = scratch.appendingPathComponent("dataset-\(tokenizer)")
        let r = try runTool(ranks: 0, ["prepare", "--config", config.path, "--out", out.path, "--set", "data.tokenizer=\(tokenizer)"])
        XCTAssertEqual(r.status, 0, "prepare failed:\n\(r.output)")
        return out
    }

    /// Runs `rnntrain ngram` into a fresh run directory; returns its model.arpa and its JSON line.
    private func ngram(ranks: Int, _ config: URL, _ name: String, _ settings: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws -> (arpa: Data, report: [String: Any]) {
        let dir = scratch.appendingPathComponent(name)
        let r = try runTool(ranks: ranks, ["ngram", "--config", config.path, "--run-dir", dir.path] + settings.flatMap { ["--set", $0] },
                            limit: 180, file: file, line: line)
        XCTAssertEqual(r.status, 0, "\(name) failed:\n\(r.output.suffix(3000))", file: file, line: line)
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(report["ranks"] as? Double, Double(max(ranks, 1)), "not one world: \(r.stdout)", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       ["SHA256SUMS", "config.yaml", "model.arpa", "words.txt"], "no spill directory left", file: file, line: line)
        return (try Data(contentsOf: dir.appendingPathComponent("model.arpa")), report)
    }

    func testAPreparedDatasetGivesTheModelOfItsTextAtOneAndTwoRanks() throws {
        let config = try writeConfig()
        for (tokenizer, order) in [("char", 6), ("word", 3)] {
            let dataset = try prepare(config, tokenizer)
            let settings = ["data.tokenizer=\(tokenizer)", "ngram.order=\(order)"]
            let text = try ngram(ranks: 0, config, "text-\(tokenizer)", settings)
            XCTAssertEqual(text.report["spilled_runs"] as? Double, 0, "no budget, nothing spilled")
            for ranks in [1, 2] {
                let prepared = try ngram(ranks: ranks, config, "prepared-\(tokenizer)-\(ranks)", settings + ["data.path=\(dataset.path)"])
                XCTAssertTrue(prepared.arpa == text.arpa, "\(tokenizer) at np \(ranks): another model.arpa from the dataset")
                XCTAssertEqual(prepared.report["val_loss"] as? Double, text.report["val_loss"] as? Double, "\(tokenizer) at np \(ranks)")
            }
        }
    }

    func testASmallBudgetSpillsRunsAndGivesTheInMemoryModel() throws {
        // 80 k words: order 5 within 1M spills at least two runs on each of 2 ranks.
        try MultiRankTestCase.corpusText(bytes: 400_000).write(to: corpus, atomically: true, encoding: .utf8)
        let config = try writeConfig()
        let dataset = try prepare(config, "word")
        let settings = ["data.tokenizer=word", "ngram.order=5"]
        let inMemory = try ngram(ranks: 0, config, "in-memory", settings)
        for (ranks, source) in [(0, corpus.path), (1, dataset.path), (2, corpus.path), (2, dataset.path)] {
            let name = "budget-\(ranks)-\(source == corpus.path ? "text" : "dataset")"
            let run = try ngram(ranks: ranks, config, name, settings + ["ngram.memory=1M", "data.path=\(source)"])
            XCTAssertGreaterThanOrEqual(run.report["spilled_runs"] as? Double ?? 0, Double(2 * max(ranks, 1)), "\(name): runs spilled")
            XCTAssertTrue(run.arpa == inMemory.arpa, "\(name): another model.arpa than the in-memory count")
        }
    }
}
