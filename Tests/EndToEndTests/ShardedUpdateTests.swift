import Foundation
import XCTest

/// `train.shard_optimizer`: each rank sums, clips and updates its shard of the parameters. In
/// deterministic mode that must change nothing: the same weights, bit for bit, as the replicated
/// update at every world size, and checkpoints that resume exactly at another world size, with
/// or without sharding.
final class ShardedUpdateTests: MultiRankTestCase {
    /// ~60 k parameters, 15 norm blocks: at np 4 each shard holds several blocks and backward's
    /// ranges straddle shard boundaries. clip.max_norm 0.5 clips every step, so the norm's bits
    /// reach the weights.
    func shardingConfig() throws -> URL {
        try writeConfig(extra: ["model": ["hidden: 64", "embedding: 32", "dropout: 0.2"], "data": ["mode: stream"],
                                "train": ["deterministic: true"], "clip": ["max_norm: 0.5"], "checkpoint": ["every: 5"]])
    }

    func sharding(_ on: Bool) -> String { "train.shard_optimizer=\(on)" }

    /// Every metrics line of a run reports clipped steps.
    func assertEveryIntervalClipped(_ run: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let records = text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["clipped"] != nil }
        XCTAssertFalse(records.isEmpty, "no training records in \(run.path)", file: file, line: line)
        for r in records {
            XCTAssertGreaterThan((r["clipped"] as? NSNumber)?.doubleValue ?? 0, 0, "an interval without clipping: \(r)",
                                 file: file, line: line)
        }
    }

    func testDeterministicShardedUpdateIsBitIdenticalToTheReplicatedOneAtOneTwoAndFourRanks() throws {
        let config = try shardingConfig()
        let reference = try train(ranks: 0, config: config, runDir: "np1", [sharding(false)])
        try assertEveryIntervalClipped(reference)
        let expected = try weights(reference, step: 30)
        XCTAssertGreaterThan(largestDifference(try weights(reference, step: 5), expected), 1e-3)
        for ranks in [2, 4] {
            for on in [true, false] {
                let run = try train(ranks: ranks, config: config, runDir: "np\(ranks)-\(on)", [sharding(on)])
                assertBitIdentical(expected, try weights(run, step: 30), "np \(ranks) shard_optimizer \(on) vs np 1 replicated")
            }
        }
    }

    /// The moments a sharded run checkpoints are gathered into the file a replicated one
    /// writes; resumed at np 2 (sharded or not) and in one process, the run goes on exactly.
    func testDeterministicShardedCheckpointResumesExactlyAtOtherWorldSizes() throws {
        let config = try shardingConfig()
        let straight = try train(ranks: 0, config: config, runDir: "straight", [sharding(false)])
        let four = try train(ranks: 4, config: config, runDir: "four", [sharding(true), "train.steps=15"])
        let saved = try SafetensorsFile(url: checkpoint(four, step: 15).appendingPathComponent("state.safetensors"))
        let replicated = try SafetensorsFile(url: checkpoint(straight, step: 15).appendingPathComponent("state.safetensors"))
        for name in ["optimizer.first", "optimizer.second", "states"] {
            XCTAssertFalse(saved.data(name).isEmpty, "\(name) missing")
            XCTAssertEqual(saved.data(name), replicated.data(name), "\(name) of np 4 sharded differs from one process's")
        }
        var resumed: [(String, URL)] = []
        for (name, ranks, on) in [("two-sharded", 2, true), ("two-replicated", 2, false), ("one", 0, true)] {
            let copy = scratch.appendingPathComponent(name)
            try FileManager.default.copyItem(at: four, to: copy)
            try train(ranks: ranks, config: config, runDir: name, [sharding(on), "train.steps=30"], resume: true)
            resumed.append((name, copy))
        }
        let expected = try weights(straight, step: 30)
        XCTAssertGreaterThan(largestDifference(try weights(straight, step: 15), expected), 1e-3)
        for (name, run) in resumed {
            assertBitIdentical(expected, try weights(run, step: 30), "np 4 sharded to 15, then \(name) to 30 vs one process to 30")
        }
    }
}
