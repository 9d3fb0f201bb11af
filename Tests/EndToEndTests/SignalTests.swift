import Foundation
import XCTest

/// SIGTERM and SIGINT stop a run at the next step boundary with a checkpoint and exit 128 + the
/// signal; SIGUSR1 writes a checkpoint and training goes on; a second SIGINT exits at once.
/// Under mpirun a signal to any one rank stops every rank at the same step.
final class SignalTests: MultiRankTestCase {
    private func longRun(_ runDir: String, ranks: Int = 0, _ settings: [String] = []) throws -> (MultiRankJob, URL) {
        let config = try writeConfig(extra: ["train": ["steps: 1000000"], "log": ["every: 50", "eval_every: 0"]])
        let dir = scratch.appendingPathComponent(runDir)
        var args = ["train", "--config", config.path, "--run-dir", dir.path]
        for s in settings { args += ["--set", s] }
        let job = try startTool(ranks: ranks, args)
        XCTAssertTrue(job.wait(until: { job.stdout.contains("step ") }, timeout: 30), "training never started:\n\(job.output)")
        return (job, dir)
    }

    /// The step named in "stopped at step N".
    private func stoppedStep(_ output: String) -> Int? {
        guard let line = output.components(separatedBy: "\n").first(where: { $0.hasPrefix("stopped at step ") }) else { return nil }
        return Int(line.dropFirst("stopped at step ".count).prefix { $0.isNumber })
    }

    func testSIGTERMCheckpointsExitsWith143AndResumes() throws {
        let (job, dir) = try longRun("term")
        kill(job.pid, SIGTERM)
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 143, r.output)
        let step = try XCTUnwrap(stoppedStep(r.stdout), "no stop line:\n\(r.stdout.suffix(1000))")
        XCTAssertEqual(checkpoints(dir).last?.lastPathComponent, String(format: "step-%08d", step))
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(dir, step: step).path]).status, 0)
        let config = scratch.appendingPathComponent("config.yaml")
        let resumed = try runTool(ranks: 0, ["train", "--config", config.path, "--run-dir", dir.path, "--resume", "auto",
                                             "--set", "train.steps=\(step + 5)"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.stdout.contains("steps \(step + 1)...\(step + 5)"), resumed.stdout)
    }

    func testSIGUSR1CheckpointsAndTrainingGoesOn() throws {
        let (job, dir) = try longRun("usr1")
        XCTAssertTrue(checkpoints(dir).isEmpty, "checkpoint.every is 0: nothing before the signal")
        kill(job.pid, SIGUSR1)
        XCTAssertTrue(job.wait(until: { self.checkpoints(dir).count == 1 }, timeout: 20), "no checkpoint after SIGUSR1")
        let first = checkpoints(dir)[0].lastPathComponent
        XCTAssertTrue(job.wait(until: { !job.isRunning }, timeout: 1) == false, "SIGUSR1 must not stop the run")
        kill(job.pid, SIGTERM)
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 143, r.output)
        let names = checkpoints(dir).map(\.lastPathComponent)
        XCTAssertEqual(names.count, 2, "\(names)")
        XCTAssertEqual(names.first, first)
        XCTAssertLessThan(first, names.last!, "the run went on after SIGUSR1")
    }

    func testSecondSIGINTExitsAtOnce() throws {
        // Steps of about 0.2 s (hidden 512, τ 128) so both signals land inside one.
        let (job, dir) = try longRun("int", ranks: 0, ["model.hidden=512", "model.embedding=64", "train.seq_len=128", "log.every=1"])
        kill(job.pid, SIGINT)
        // A second signal sent before the first is delivered merges with it.
        usleep(20_000)
        kill(job.pid, SIGINT)
        let r = finish(job, limit: 30)
        XCTAssertEqual(r.status, 130, r.output)
        XCTAssertNil(stoppedStep(r.stdout), "the second SIGINT must not wait for the step and its checkpoint:\n\(r.stdout.suffix(500))")
        XCTAssertTrue(checkpoints(dir).isEmpty)
    }

    func testSIGTERMToOneRankStopsEveryRankAtOneStep() throws {
        let (job, dir) = try longRun("mpi", ranks: 2)
        let ranks = job.waitForRanks(2, timeout: 20)
        let rank1 = try XCTUnwrap(ranks[1], "rank 1 not found")
        kill(rank1, SIGTERM)
        let r = finish(job, limit: 40)
        XCTAssertEqual(r.status, 143, r.output)
        let stops = r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("stopped at step ") }
        XCTAssertEqual(stops.count, 1, "rank 0 reports the stop once:\n\(r.stdout.suffix(800))")
        let step = try XCTUnwrap(stoppedStep(r.stdout))
        XCTAssertEqual(checkpoints(dir).last?.lastPathComponent, String(format: "step-%08d", step),
                       "the checkpoint holds the step every rank stopped at")
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(dir, step: step).path]).status, 0)
    }

    /// Ctrl-C reaches the terminal's foreground process group. mpirun alone kills its ranks at
    /// once on SIGINT; launch/mpirun keeps mpirun out of that group and turns the signal into
    /// SIGUSR2, which mpirun forwards: every rank checkpoints at one step and the job exits 143.
    func testCtrlCToLaunchMpirunStopsEveryRankWithACheckpoint() throws {
        let config = try writeConfig(extra: ["train": ["steps: 1000000"], "log": ["every: 50", "eval_every: 0"]])
        let dir = scratch.appendingPathComponent("launcher")
        let job = try start(Tool.root.appendingPathComponent("launch/mpirun"),
                            ["-n", "2", "--", "train", "--config", config.path, "--run-dir", dir.path],
                            environment: ["RNNTRAIN_BIN": Tool.binary.path])
        // Foundation starts the script as the leader of a process group of its own, as a shell
        // starts a foreground job.
        XCTAssertEqual(getpgid(job.pid), job.pid)
        XCTAssertTrue(job.wait(until: { job.stdout.contains("step ") }, timeout: 60), "training never started:\n\(job.output)")
        XCTAssertEqual(job.waitForRanks(2, timeout: 20).count, 2, "two ranks below launch/mpirun")
        XCTAssertEqual(kill(-job.pid, SIGINT), 0, "SIGINT to the script's process group")
        let r = finish(job, limit: 40)
        XCTAssertEqual(r.status, 143, r.output)
        let stops = r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("stopped at step ") }
        XCTAssertEqual(stops.count, 1, "rank 0 reports the stop once:\n\(r.stdout.suffix(800))")
        let step = try XCTUnwrap(stoppedStep(r.stdout))
        XCTAssertEqual(checkpoints(dir).last?.lastPathComponent, String(format: "step-%08d", step))
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(dir, step: step).path]).status, 0)
    }
}
