import Foundation
import XCTest

/// `rnntrain ngram` under mpirun: every rank counts a shard, the counts are merged over MPI and
/// rank 0 writes the model. The merge is exact, so the ARPA file must be byte for byte the one a
/// single process writes, for characters (one stream) and words (sentences that shards cut).
final class MultiRankNGramTests: MultiRankTestCase {
    /// Runs `rnntrain ngram` plain and at np 1, 2 and 4 and returns each run's model.arpa, after
    /// checking that each run succeeded in one world of that size.
    private func modelsAtEveryWorldSize(_ settings: [String]) throws -> [(ranks: Int, arpa: Data)] {
        let config = try writeConfig()
        var out: [(Int, Data)] = []
        for ranks in [0, 1, 2, 4] {
            let dir = scratch.appendingPathComponent("np\(ranks)")
            var args = ["ngram", "--config", config.path, "--run-dir", dir.path]
            for s in settings { args += ["--set", s] }
            let r = try runTool(ranks: ranks, args)
            XCTAssertEqual(r.status, 0, "ngram at np \(ranks) failed:\n\(r.output.suffix(3000))")
            let lines = r.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "one summary line, from rank 0 only:\n\(r.stdout)")
            XCTAssertTrue(r.stdout.contains("\"ranks\": \(Double(max(ranks, 1)))"), "not one world of \(max(ranks, 1)): \(r.stdout)")
            out.append((ranks, try Data(contentsOf: dir.appendingPathComponent("model.arpa"))))
        }
        return out
    }

    private func assertIdentical(_ runs: [(ranks: Int, arpa: Data)], _ what: String) {
        XCTAssertGreaterThan(runs[0].arpa.count, 1000, "\(what): a model with some n-grams")
        for run in runs.dropFirst() {
            XCTAssertTrue(run.arpa == runs[0].arpa, "\(what): np \(run.ranks) wrote another model.arpa than one process")
        }
    }

    func testCharacterModelIsByteIdenticalAtEveryWorldSize() throws {
        assertIdentical(try modelsAtEveryWorldSize(["ngram.order=5"]), "char order 5")
    }

    func testWordModelIsByteIdenticalAtEveryWorldSize() throws {
        assertIdentical(try modelsAtEveryWorldSize(["ngram.order=3", "data.tokenizer=word"]), "word order 3")
    }

    /// Shards of a few tokens, shorter than the order: an n-gram read past the next shard too.
    func testShardsShorterThanTheOrder() throws {
        try String(MultiRankTestCase.corpusText().prefix(60)).write(to: corpus, atomically: true, encoding: .utf8)
        assertIdentical(try modelsAtEveryWorldSize(["ngram.order=12", "data.val_fraction=0"]),
                        "char order 12 on 60 characters")
    }

    /// A config error is found on every rank: one line from rank 0, status 2, nothing written.
    func testBadOrderIsOneLineAtEveryRank() throws {
        let dir = scratch.appendingPathComponent("bad")
        let r = try runTool(ranks: 2, ["ngram", "--config", try writeConfig().path, "--run-dir", dir.path, "--set", "ngram.order=0"])
        XCTAssertEqual(r.status, 2, r.output)
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("ngram.order") }
        XCTAssertEqual(lines.count, 1, "one line naming the option:\n\(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path), "a refused run writes nothing")
    }

    /// A rank stopped while the others wait for it (in a collective or for its counts) ends the
    /// job once they wait train.step_timeout for it, naming it, with no model written. Rank 1 is
    /// stopped once it counts (its spill directory exists, after every collective of the start).
    /// 200 kB of text at order 10 within a budget of 1 MB spills a run every 1,600 positions, so
    /// both ranks count for a while (rank 1 must not finish first: rank 0 would then be the one
    /// waited for); rank 0 finishes its own shard before it waits. 240 s is the bound of a hang:
    /// with 400 kB, rank 0's own count under ASan, beside the other test processes of
    /// launch/test, once took longer than the 120 s allowed then.
    func testAStoppedRankEndsTheJobNamingIt() throws {
        try MultiRankTestCase.corpusText(bytes: 200_000).write(to: corpus, atomically: true, encoding: .utf8)
        let dir = scratch.appendingPathComponent("stalled")
        let timeout = 3.0
        let job = try startTool(ranks: 2, ["ngram", "--config", try writeConfig().path, "--run-dir", dir.path,
                                           "--set", "ngram.order=10", "--set", "ngram.memory=1M",
                                           "--set", "train.step_timeout=\(timeout)"])
        let pids = job.waitForRanks(2, timeout: 20)
        let rank1 = try XCTUnwrap(pids[1], "rank 1 never started:\n\(job.output.suffix(2000))")
        let spills = dir.appendingPathComponent("tmp/ngram-1-\(rank1)").path
        XCTAssertTrue(job.wait(until: { FileManager.default.fileExists(atPath: spills) }, timeout: 60),
                      "rank 1 never spilled:\n\(job.output.suffix(2000))")
        XCTAssertTrue(job.isRunning, "the job ended before rank 1 could be stopped:\n\(job.output.suffix(2000))")
        assertStoppingEndsTheJob(job, rank: 1, pid: rank1, limit: 240)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.arpa").path))
    }
}
