import Foundation
import XCTest

/// Errors under mpirun: a mistake every rank sees is printed once and the job exits 2; a mistake
/// only one rank sees (MPMD: its own config) still ends the whole job at once with that rank's
/// message; replicas that drift apart are caught by the hash check.
final class MultiRankErrorTests: MultiRankTestCase {
    /// How long "at once" may take for a job of tiny processes, with mpirun's start-up included.
    let quickly: TimeInterval = 15

    func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// `mpirun -np 1 rnntrain A : -np 1 rnntrain B`, Open MPI's MPMD form.
    func runMPMD(_ first: [String], _ second: [String]) throws -> MultiRankResult {
        let bin = Tool.binary.path
        let env = ["-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"]
        return finish(try start(Self.mpirun, ["-np", "1"] + env + [bin] + first + [":", "-np", "1"] + env + [bin] + second))
    }

    func testBatchThatThreeRanksCannotShareIsReportedOnceAndQuickly() throws {
        let config = try writeConfig()
        let dir = scratch.appendingPathComponent("run")
        let r = try runTool(ranks: 3, ["train", "--config", config.path, "--run-dir", dir.path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertLessThan(r.seconds, quickly)
        XCTAssertEqual(occurrences(of: "train.global_batch", in: r.output), 1,
                       "the message should name train.global_batch exactly once, not once per rank:\n\(r.output)")
        XCTAssertTrue(checkpoints(dir).isEmpty)
    }

    func testMissingDataFileIsNamedOnceUnderMPI() throws {
        let missing = scratch.appendingPathComponent("no-such-corpus.txt").path
        let config = try writeConfig(dataPath: missing)
        let r = try runTool(ranks: 2, ["train", "--config", config.path, "--run-dir", scratch.appendingPathComponent("run").path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertLessThan(r.seconds, quickly)
        XCTAssertEqual(occurrences(of: missing, in: r.output), 1, "the missing file should be named once:\n\(r.output)")
    }

    func testMissingDataFileIsNamedInOneProcess() throws {
        let missing = scratch.appendingPathComponent("no-such-corpus.txt").path
        let config = try writeConfig(dataPath: missing)
        let r = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", scratch.appendingPathComponent("run").path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains(missing), r.output)
    }

    /// Rank 1 alone reads a config whose corpus does not exist; rank 0 is fine and would wait
    /// forever for a partner that never joins if the error were not shared. Rank 1 reads its text
    /// only when it cannot see the run directory rank 0 prepared the text into: here its
    /// --run-dir is another (as a run directory local to rank 0's host looks from elsewhere).
    func testMissingFileOnRankOneOnlyEndsTheJobWithItsMessage() throws {
        let missing = scratch.appendingPathComponent("rank-one-corpus.txt").path
        let good = try writeConfig("good.yaml")
        let bad = try writeConfig("bad.yaml", dataPath: missing)
        let dir = scratch.appendingPathComponent("run").path
        let r = try runMPMD(["train", "--config", good.path, "--run-dir", dir],
                            ["train", "--config", bad.path, "--run-dir", scratch.appendingPathComponent("elsewhere").path])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertLessThan(r.seconds, quickly, r.output)
        XCTAssertTrue(r.output.contains(missing), "the output should name \(missing):\n\(r.output)")
    }

    /// The mirror case: rank 0 (the one that prints) is the one whose file is missing.
    func testMissingFileOnRankZeroOnlyEndsTheJobWithItsMessage() throws {
        let missing = scratch.appendingPathComponent("rank-zero-corpus.txt").path
        let good = try writeConfig("good.yaml")
        let bad = try writeConfig("bad.yaml", dataPath: missing)
        let dir = scratch.appendingPathComponent("run").path
        let r = try runMPMD(["train", "--config", bad.path, "--run-dir", dir],
                            ["train", "--config", good.path, "--run-dir", dir])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertLessThan(r.seconds, quickly, r.output)
        XCTAssertTrue(r.output.contains(missing), "the output should name \(missing):\n\(r.output)")
    }

    /// Ranks whose configs disagree on the number of steps do not make the same collective calls:
    /// rank 0 stops after 30 steps and waits in the final checkpoint's gather while rank 1 waits
    /// for step 31's sum. The job must end (train.step_timeout is 5 s here, so it cannot hang
    /// for long) with a message that names the setting the ranks disagree on, not blame a rank
    /// that merely finished.
    func testRanksThatDisagreeOnTheStepCountAreToldSo() throws {
        let short = try writeConfig("short.yaml", extra: ["train": ["steps: 30", "step_timeout: 5"]])
        let long = try writeConfig("long.yaml", extra: ["train": ["steps: 40", "step_timeout: 5"]])
        let dir = scratch.appendingPathComponent("run").path
        let r = try runMPMD(["train", "--config", short.path, "--run-dir", dir],
                            ["train", "--config", long.path, "--run-dir", dir])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertLessThan(r.seconds, 30, r.output)
        XCTAssertTrue(r.output.contains("train.steps"), "the message should name train.steps, the setting the ranks disagree on:\n\(r.output)")
    }

    /// Two ranks whose configs differ only in the learning rate drift apart from the first
    /// update of the replicated update; the hash check every 5 steps must catch it at step 5
    /// and name rank 1.
    func testReplicasThatDriftApartAreCaughtAtTheFirstCheck() throws {
        let check = 5
        let train = ["check_every: \(check)", "shard_optimizer: false"]
        let slow = try writeConfig("slow.yaml", lr: "0.002", extra: ["train": train])
        let fast = try writeConfig("fast.yaml", lr: "0.003", extra: ["train": train])
        // The two files differ in exactly one line, the learning rate.
        let a = try String(contentsOf: slow, encoding: .utf8).components(separatedBy: "\n")
        let b = try String(contentsOf: fast, encoding: .utf8).components(separatedBy: "\n")
        XCTAssertEqual(zip(a, b).filter { $0 != $1 }.map(\.0), ["  lr: 0.002"])
        let dir = scratch.appendingPathComponent("run")
        let r = try runMPMD(["train", "--config", slow.path, "--run-dir", dir.path],
                            ["train", "--config", fast.path, "--run-dir", dir.path])
        XCTAssertNotEqual(r.status, 0, r.output)
        let lines = r.output.components(separatedBy: "\n").filter { $0.localizedCaseInsensitiveContains("replicas differ") }
        XCTAssertEqual(lines.count, 1, "one message saying the replicas differ:\n\(r.output)")
        if let message = lines.first {
            XCTAssertNotNil(message.range(of: "step \(check)\\b", options: .regularExpression), "step \(check) not named: \(message)")
            XCTAssertNotNil(message.range(of: "rank 1\\b", options: .regularExpression), "rank 1 not named: \(message)")
        }
        // Nothing past the failed check was saved as if it were good.
        XCTAssertTrue(checkpoints(dir).isEmpty, "checkpoints written: \(checkpoints(dir).map(\.lastPathComponent))")
    }

    /// Sharded, each rank would update its shard at its own learning rate and the allgather
    /// would hide it from the hash check: the ranks must agree on it before training.
    func testShardedRanksThatDisagreeOnTheLearningRateAreRefusedBeforeTraining() throws {
        let slow = try writeConfig("slow.yaml", lr: "0.002", extra: ["train": ["shard_optimizer: true"]])
        let fast = try writeConfig("fast.yaml", lr: "0.003", extra: ["train": ["shard_optimizer: true"]])
        let dir = scratch.appendingPathComponent("run")
        let r = try runMPMD(["train", "--config", slow.path, "--run-dir", dir.path],
                            ["train", "--config", fast.path, "--run-dir", dir.path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("optimizer.lr is 0.003 here but 0.002 on rank 0"), r.output)
        XCTAssertTrue(checkpoints(dir).isEmpty)
    }
}
