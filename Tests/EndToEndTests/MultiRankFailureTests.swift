import Foundation
import XCTest

/// A rank that dies or stops: the job must end (never hang), name the rank that stopped, and
/// leave the newest checkpoint intact.
final class MultiRankFailureTests: MultiRankTestCase {
    /// A run that would take many minutes, checkpointing often.
    func startLongRun(ranks: Int, _ settings: [String]) throws -> (job: MultiRankJob, dir: URL) {
        let config = try writeConfig(extra: ["train": ["steps: 100000"], "checkpoint": ["every: 20", "keep: 3"],
                                             "log": ["eval_every: 0"]])
        let dir = scratch.appendingPathComponent("run")
        var args = ["train", "--config", config.path, "--run-dir", dir.path]
        for s in settings { args += ["--set", s] }
        return (try startTool(ranks: ranks, args), dir)
    }

    /// Waits for the first checkpoint (training is under way) and the pids of all ranks.
    func waitForTraining(_ job: MultiRankJob, dir: URL, ranks: Int) throws -> [Int: pid_t] {
        let running = job.wait(until: { !checkpoints(dir).isEmpty }, timeout: 30)
        guard running, job.isRunning else {
            XCTFail("no checkpoint within 30 s, or the job ended:\n\(job.output.suffix(3000))")
            throw MultiRankStop()
        }
        let pids = job.waitForRanks(ranks, timeout: 10)
        guard pids.count == ranks else {
            XCTFail("found ranks \(pids.keys.sorted()) of \(ranks) below mpirun")
            throw MultiRankStop()
        }
        return pids
    }

    func testKillingOneRankEndsTheJobAndLeavesTheNewestCheckpointValid() throws {
        let (job, dir) = try startLongRun(ranks: 2, [])
        let pids = try waitForTraining(job, dir: dir, ranks: 2)
        XCTAssertEqual(kill(pids[1]!, SIGKILL), 0)
        let killed = Date()
        let ended = job.wait(timeout: 30)
        XCTAssertTrue(ended, "mpirun still running 30 s after rank 1 was killed")
        if !ended { job.killTree() }
        XCTAssertNotEqual(job.status, 0, job.output.suffix(2000).description)
        XCTAssertLessThan(Date().timeIntervalSince(killed), 30)
        // Rank 0 must not outlive the job.
        let exited = MultiRankJob.waitForExit(of: [pids[0]!], timeout: 5)
        XCTAssertTrue(exited, "rank 0 (pid \(pids[0]!)) outlived mpirun by 5 s, state \(MultiRankJob.state(of: pids[0]!) ?? "?")")
        if !exited { kill(pids[0]!, SIGKILL) }

        guard let newest = checkpoints(dir).last else { return XCTFail("no checkpoint left") }
        let inspect = try runTool(ranks: 0, ["inspect", newest.path])
        XCTAssertEqual(inspect.status, 0, "rnntrain inspect \(newest.lastPathComponent):\n\(inspect.output)")
        // And independently: a complete weights file.
        let w = try SafetensorsFile(url: newest.appendingPathComponent("model.safetensors"))
        try w.checkFloat32()
        XCTAssertFalse(w.names.isEmpty)
        XCTAssertTrue(w.names.allSatisfy { w.floats($0).allSatisfy(\.isFinite) })
    }

    /// mpirun itself killed, so it cannot signal anyone: the ranks lose Open MPI's lifeline to
    /// their launcher and end within seconds instead of training on unsupervised.
    func testRanksDoNotOutliveAKilledMpirun() throws {
        let (job, dir) = try startLongRun(ranks: 2, [])
        let pids = try waitForTraining(job, dir: dir, ranks: 2)
        XCTAssertEqual(kill(job.pid, SIGKILL), 0)
        XCTAssertTrue(job.wait(timeout: 5), "mpirun survived SIGKILL")
        let gone = MultiRankJob.waitForExit(of: Array(pids.values), timeout: 10)
        let states = pids.sorted { $0.key < $1.key }.map { "rank \($0.key): \(MultiRankJob.state(of: $0.value) ?? "gone")" }
        XCTAssertTrue(gone, "ranks outlived mpirun by 10 s: \(states.joined(separator: ", "))")
        if !gone { for p in pids.values { kill(p, SIGKILL) } }
        guard let newest = checkpoints(dir).last else { return XCTFail("no checkpoint left") }
        let inspect = try runTool(ranks: 0, ["inspect", newest.path])
        XCTAssertEqual(inspect.status, 0, "rnntrain inspect \(newest.lastPathComponent):\n\(inspect.output)")
    }

    /// Rank 1 stops (SIGSTOP) while the others keep going: after train.step_timeout the job must
    /// end and say that rank 1 is the one that made no progress.
    func testStepTimeoutNamesAStoppedRank() throws {
        let timeout = 3.0
        let (job, dir) = try startLongRun(ranks: 3, ["train.global_batch=6", "train.step_timeout=\(timeout)"])
        let pids = try waitForTraining(job, dir: dir, ranks: 3)
        XCTAssertEqual(kill(pids[1]!, SIGSTOP), 0)
        XCTAssertTrue(waitUntilStopped(pids[1]!), "rank 1 did not stop")
        try assertEndsNamingRankOne(job, pids: pids, timeout: timeout)
    }

    /// The same stall, caught where a waiting rank spends most of its time: inside the step's
    /// gradient sum, after it told the others it reached the step. Ranks 0 and 2 are frozen for
    /// a moment so that rank 1 runs ahead into the sum and waits there; then rank 1 stops for
    /// good and the others resume.
    func testStepTimeoutNamesARankStoppedInsideTheGradientSum() throws {
        let timeout = 3.0
        let (job, dir) = try startLongRun(ranks: 3, ["train.global_batch=6", "train.step_timeout=\(timeout)"])
        let pids = try waitForTraining(job, dir: dir, ranks: 3)
        XCTAssertEqual(kill(pids[0]!, SIGSTOP), 0)
        XCTAssertEqual(kill(pids[2]!, SIGSTOP), 0)
        XCTAssertTrue(waitUntilStopped(pids[0]!) && waitUntilStopped(pids[2]!), "ranks 0 and 2 did not stop")
        usleep(500_000)
        XCTAssertEqual(kill(pids[1]!, SIGSTOP), 0)
        XCTAssertTrue(waitUntilStopped(pids[1]!), "rank 1 did not stop")
        kill(pids[0]!, SIGCONT)
        kill(pids[2]!, SIGCONT)
        try assertEndsNamingRankOne(job, pids: pids, timeout: timeout)
    }

    /// Rank 0 stopped while it prepares a text `data.path` into `RUN/data`: the other rank
    /// waits `train.step_timeout` plus a second per megabyte of text, not without end, and the
    /// job ends naming rank 0, with no half-written `RUN/data`. 32 MB of words take 0.5 s to
    /// prepare in a release build under ASan, 0.25 s of it after the temporary directory appears,
    /// so the stop lands inside the preparation.
    func testRankZeroStoppedWhilePreparingTheTextEndsTheJob() throws {
        let chunk = Data(MultiRankTestCase.corpusText(bytes: 1_000_000).utf8)
        var text = Data()
        for _ in 0..<32 { text.append(chunk) }
        try text.write(to: corpus)
        // Not 3 s as elsewhere: the other rank's wait starts before rank 0 has checked the text
        // and begun preparing it, which took more than 3 s + 4 s in a debug build under ASan on a
        // loaded machine.
        let timeout = 5.0
        let (job, dir) = try startLongRun(ranks: 2, ["train.step_timeout=\(timeout)", "data.tokenizer=word"])
        let pids = job.waitForRanks(2, timeout: 20)
        let rank0 = try XCTUnwrap(pids[0], "rank 0 never started:\n\(job.output.suffix(2000))")
        let preparing = dir.appendingPathComponent(".tmp-.data-next-\(rank0)").path
        // Polled every millisecond, not every 50 ms as job.wait polls: the preparation takes
        // a few tenths of a second.
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: preparing) && Date() < deadline && job.isRunning { usleep(1000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: preparing), "rank 0 never began to prepare:\n\(job.output.suffix(2000))")
        XCTAssertEqual(kill(rank0, SIGSTOP), 0)
        XCTAssertTrue(waitUntilStopped(rank0), "rank 0 did not stop")
        // Checked while rank 0 is stopped: mpirun ends a job with SIGCONT then SIGTERM, and rank 0
        // may then finish the preparation, complete, before SIGKILL comes.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data").path),
                       "the preparation finished before rank 0 stopped, so the stop did not test it")
        // The bound is 5 s + 32 s; 60 s leaves room for a loaded machine.
        assertStoppingEndsTheJob(job, rank: 0, pid: rank0, limit: 60)
        let data = dir.appendingPathComponent("data")
        if FileManager.default.fileExists(atPath: data.path) {
            let check = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "SHA256SUMS"], directory: data)
            XCTAssertEqual(check.status, 0, "RUN/data is there, so it must be whole: \(check.stdout)\(check.stderr)")
        }
    }

    /// Signals are delivered asynchronously: polls /proc until the process shows state T.
    func waitUntilStopped(_ pid: pid_t) -> Bool {
        for _ in 0..<100 {
            if MultiRankJob.state(of: pid) == "T" { return true }
            usleep(10_000)
        }
        return false
    }

    func assertEndsNamingRankOne(_ job: MultiRankJob, pids: [Int: pid_t], timeout: Double,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let stopped = Date()
        let ended = job.wait(timeout: 20)
        let seconds = Date().timeIntervalSince(stopped)
        let output = job.output
        if !ended { job.killTree() }
        XCTAssertTrue(ended, "the job still runs 20 s after rank 1 stopped (step timeout \(timeout) s):\n\(output.suffix(3000))",
                      file: file, line: line)
        if ended { XCTAssertNotEqual(job.status, 0, "ended after \(seconds) s", file: file, line: line) }
        // Rank 1 must be named as the rank that made no progress ("rank 1 made no progress", or
        // among "ranks …"), not merely appear as the speaker of a line ("rank 1: …").
        let named = output.components(separatedBy: "\n").contains {
            $0.range(of: "ranks? ([0-9]+, )*1(, [0-9]+)* made no progress", options: .regularExpression) != nil
        }
        XCTAssertTrue(named, "no message names rank 1 as the rank that made no progress:\n\(output.suffix(3000))",
                      file: file, line: line)
    }
}

/// Ends a test whose failure was already recorded.
struct MultiRankStop: Error {}
