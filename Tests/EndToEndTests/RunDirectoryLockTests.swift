import Foundation
import XCTest

/// One run per run directory (issue 11, failure 3): a second run into a directory a live run holds
/// fails at once naming the holder, on every rank, and the first finishes as if alone; a lock file
/// left by a run killed with -9 does not stop the next.
final class RunDirectoryLockTests: MultiRankTestCase {
    /// Long enough that the first run is still training when it is stopped (it is stopped, so its
    /// speed does not matter); a checkpoint every 50 steps, so a killed run leaves some behind.
    private func config() throws -> URL {
        try writeConfig(extra: ["train": ["steps: 400"], "checkpoint": ["every: 50", "keep: 2"], "log": ["every: 50", "eval_every: 0"]])
    }

    /// The kernel's host name, read apart from the tool.
    private var host: String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func lockText(_ run: URL) -> String {
        (try? String(contentsOf: run.appendingPathComponent("run.lock"), encoding: .utf8)) ?? ""
    }

    /// Starts a plain run and waits until it holds the lock and trains.
    private func startHolder(_ run: URL, config: URL) throws -> MultiRankJob {
        let job = try startTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto"])
        let holding = job.wait(until: { self.lockText(run).contains("pid \(job.pid)\n") && job.stdout.contains("training ") },
                               timeout: Self.runLimit)
        XCTAssertTrue(holding, "the first run never took the lock:\n\(job.output.suffix(2000))")
        return job
    }

    func testASecondRunFailsAtOnceNamingTheHolderAndTheFirstFinishesUntouched() throws {
        let run = scratch.appendingPathComponent("run"), config = try config()
        let first = try startHolder(run, config: config)
        // Stopped, it holds the lock for as long as the test needs, whatever the machine's speed.
        kill(first.pid, SIGSTOP)
        for ranks in [0, 2] {
            let second = try runTool(ranks: ranks, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto"])
            XCTAssertEqual(second.status, 2, "np \(ranks):\n\(second.output)")
            let refusals = second.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("rnntrain: ") }
            XCTAssertEqual(refusals.count, 1, "np \(ranks): one line, from rank 0 only:\n\(second.stderr)")
            let line = refusals.first ?? ""
            XCTAssertTrue(line.contains("\(run.path) is in use by another run") && line.contains("pid \(first.pid)")
                          && line.contains("host \(host)"), "np \(ranks): \(line)")
            XCTAssertLessThan(second.seconds, 15, "np \(ranks): not at once")
            XCTAssertFalse(second.stdout.contains("resume:") || second.stdout.contains("checkpoint:"),
                           "np \(ranks): read or wrote the run directory:\n\(second.stdout)")
        }
        kill(first.pid, SIGCONT)
        let done = finish(first)
        XCTAssertEqual(done.status, 0, done.output)
        XCTAssertEqual(lockText(run), "host \(host) pid \(first.pid)\n")
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let steps = lines(metrics).compactMap { jsonObject($0).flatMap { number($0["step"]) } }
        XCTAssertEqual(steps, stride(from: 50.0, through: 400, by: 50).map { $0 }, "metrics of one run only:\n\(metrics)")
        XCTAssertEqual(checkpoints(run).map(\.lastPathComponent), ["step-00000350", "step-00000400"])
        XCTAssertEqual(try runTool(ranks: 0, ["inspect", checkpoint(run, step: 400).path]).status, 0)
    }

    func testALockFileLeftByAKilledRunIsNoObstacle() throws {
        let run = scratch.appendingPathComponent("run"), config = try config()
        let first = try startHolder(run, config: config)
        let killed = first.pid
        kill(killed, SIGKILL)
        XCTAssertTrue(first.wait(timeout: 10))
        XCTAssertTrue(lockText(run).contains("pid \(killed)\n"), "the dead run's lock file stays: \(lockText(run))")

        let next = try startTool(ranks: 0, ["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto"])
        let r = finish(next)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("step 400/400"), String(r.stdout.suffix(500)))
        XCTAssertEqual(lockText(run), "host \(host) pid \(next.pid)\n")
    }
}
