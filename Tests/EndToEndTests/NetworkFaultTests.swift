import Foundation
import XCTest

/// Network faults on emulated hosts (launch/cluster, a cluster named for this test process so it
/// collides with no other): a link taken down, slowed to a crawl, or flapping mid-training. The
/// job must end within step_timeout + 30 s with a non-zero status and a line naming the host,
/// leave a valid newest checkpoint, and leave no daemon or rank in any namespace.
final class NetworkFaultTests: MultiRankTestCase {
    let script = Tool.root.appendingPathComponent("launch/cluster")
    let stepTimeout = 5.0
    /// The promise of the table in docs/faults-and-security.md (Surviving the cluster).
    var bound: TimeInterval { stepTimeout + 30 }
    var clusters: [String] = []

    struct Cluster {
        let name: String
        let flags: [String]
        /// Each host's address and namespace, in hostfile order (rank r runs on host r).
        let hosts: [(address: String, namespace: String)]
    }

    func command(_ path: String, _ arguments: [String], limit: TimeInterval = 60) throws -> MultiRankResult {
        finish(try start(URL(fileURLWithPath: path), arguments, directory: Tool.root), limit: limit)
    }

    func cluster(_ name: String, _ arguments: [String]) throws -> MultiRankResult {
        try command(script.path, ["--name", name] + arguments)
    }

    override func tearDown() {
        for name in clusters {
            if let r = try? cluster(name, ["down"]), r.status != 0 { XCTFail("launch/cluster --name \(name) down:\n\(r.output)") }
        }
        clusters = []
        super.tearDown()
    }

    /// A name of at most 6 characters that no concurrent test process shares.
    func uniqueName(_ letter: Character) -> String { "\(letter)\(getpid() % 100_000)" }

    func up(_ name: String, hosts: Int = 2) throws -> Cluster {
        // The one allowed skip: a machine that refuses network namespaces.
        let probe = "rnnprobe\(getpid())"
        let add = try command("/usr/sbin/ip", ["netns", "add", probe])
        if add.status != 0 {
            throw XCTSkip("ip netns add is refused here: \(add.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        _ = try command("/usr/sbin/ip", ["netns", "del", probe])
        clusters.append(name)
        let up = try cluster(name, ["up", "\(hosts)", "--rate", "1gbit"])
        // Namespaces work here, so a cluster that does not come up is a failure, not a skip.
        guard up.status == 0 else { throw ClusterError(description: "launch/cluster up failed:\n\(up.output)") }
        let flags = try cluster(name, ["flags"]).stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        let at = try XCTUnwrap(flags.firstIndex(of: "--hostfile"))
        let hostsFile = URL(fileURLWithPath: flags[at + 1]).deletingLastPathComponent().appendingPathComponent("hosts")
        let table = try String(contentsOf: hostsFile, encoding: .utf8).split(separator: "\n").map { line in
            let f = line.split(separator: " ").map(String.init)
            return (address: f[0], namespace: f[1])
        }
        return Cluster(name: name, flags: flags, hosts: table)
    }

    /// The training a fault interrupts: far more steps than a test waits for, a checkpoint every
    /// 50 steps, a short step timeout.
    func startTraining(on c: Cluster, runDir: URL, steps: Int = 10_000_000, logEvery: Int = 50) throws -> MultiRankJob {
        let config = try writeConfig(extra: [
            "model": ["layers: 1", "hidden: 32"],
            "train": ["steps: \(steps)", "step_timeout: \(Int(stepTimeout))"],
            "checkpoint": ["every: 50", "keep: 3"],
            "log": ["every: \(logEvery)", "eval_every: 0"],
        ])
        return try start(Self.mpirun, ["-np", "\(c.hosts.count)"] + c.flags
                         + ["-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS", Tool.binary.path, "train",
                            "--config", config.path, "--run-dir", runDir.path])
    }

    func waitForCheckpoint(_ job: MultiRankJob, _ runDir: URL, newerThan old: URL? = nil) -> Bool {
        job.wait(until: { checkpoints(runDir).last.map { $0.lastPathComponent > (old?.lastPathComponent ?? "") } ?? false },
                 timeout: 60)
    }

    /// The host's link, as root sees it: its veth on the cluster's bridge.
    func link(_ c: Cluster, host: Int) throws -> String {
        try cluster(c.name, ["link", c.hosts[host].address]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func ip(_ arguments: [String]) throws {
        let r = try command("/usr/sbin/ip", arguments)
        XCTAssertEqual(r.status, 0, "ip \(arguments.joined(separator: " ")):\n\(r.output)")
    }

    func tc(_ arguments: [String]) throws {
        let r = try command("/usr/sbin/tc", arguments)
        XCTAssertEqual(r.status, 0, "tc \(arguments.joined(separator: " ")):\n\(r.output)")
    }

    /// Live processes (zombies excluded) in the cluster's namespaces, and live rnntrain
    /// processes of this run anywhere, a few seconds after the job ended.
    func survivors(_ c: Cluster, _ runDir: URL) throws -> [String] {
        var left: [String] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            left = []
            for host in c.hosts {
                let pids = try command("/usr/sbin/ip", ["netns", "pids", host.namespace]).stdout.split(separator: "\n").compactMap { pid_t($0) }
                left += pids.filter { ![nil, "Z"].contains(MultiRankJob.state(of: $0)) }.map { "\($0) in \(host.namespace)" }
            }
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let p = pid_t(entry), ![nil, "Z"].contains(MultiRankJob.state(of: p)),
                      let cmd = try? String(contentsOfFile: "/proc/\(p)/cmdline", encoding: .utf8),
                      cmd.contains(runDir.path), cmd.contains("rnntrain") else { continue }
                left.append("\(p): \(cmd.replacingOccurrences(of: "\0", with: " ").prefix(80))")
            }
            if left.isEmpty { return [] }
            usleep(200_000)
        } while Date() < deadline
        return Array(Set(left)).sorted()
    }

    /// `sha256sum -c` in the newest checkpoint: coreutils, not rnntrain, judges it.
    func assertNewestCheckpointValid(_ runDir: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let newest = checkpoints(runDir).last else { return XCTFail("no checkpoint in \(runDir.path)", file: file, line: line) }
        let job = try start(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["-c", "--quiet", "SHA256SUMS"], directory: newest)
        let r = finish(job)
        XCTAssertEqual(r.status, 0, "\(newest.lastPathComponent) does not verify:\n\(r.output)", file: file, line: line)
    }

    /// Applies `fault` to host 1 (rank 1) once training has checkpointed, and checks the end.
    func assertJobEndsWithinBound(after fault: (Cluster, String) throws -> Void, file: StaticString = #filePath,
                                  line: UInt = #line) throws -> String {
        let c = try up(uniqueName("f"))
        let runDir = scratch.appendingPathComponent("run")
        let job = try startTraining(on: c, runDir: runDir)
        XCTAssertTrue(waitForCheckpoint(job, runDir), "no checkpoint before the fault:\n\(job.output.suffix(2000))", file: file, line: line)
        let faulted = Date()
        try fault(c, try link(c, host: 1))
        let r = finish(job, limit: bound + 30)
        let seconds = Date().timeIntervalSince(faulted)
        print("fault ended the job after \(String(format: "%.1f", seconds)) s (bound \(Int(bound)) s), status \(r.status)")
        XCTAssertLessThanOrEqual(seconds, bound, "the job ended \(Int(seconds)) s after the fault:\n\(r.stderr.suffix(3000))",
                                 file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "a faulted job must not succeed:\n\(r.output.suffix(2000))", file: file, line: line)
        XCTAssertEqual(try survivors(c, runDir), [], "processes outlived the job", file: file, line: line)
        try assertNewestCheckpointValid(runDir, file: file, line: line)
        // Rank 0 says which host it lost, by the address the cluster gave it.
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("rnntrain: rank 0:") }
        XCTAssertTrue(lines.contains { $0.contains("host vm at \(c.hosts[1].address)") || $0.contains(c.hosts[1].address) },
                      "rank 0 does not name host \(c.hosts[1].address):\n\(r.stderr.suffix(3000))", file: file, line: line)
        XCTAssertTrue(lines.contains { $0.contains("train.step_timeout") }, r.stderr, file: file, line: line)
        return r.stderr
    }

    func testLinkDownEndsTheJobWithinTheBound() throws {
        _ = try assertJobEndsWithinBound { _, link in try self.ip(["link", "set", link, "down"]) }
    }

    func testCrawlingLinkEndsTheJobWithinTheBound() throws {
        _ = try assertJobEndsWithinBound { _, link in
            try self.tc(["qdisc", "replace", "dev", link, "root", "tbf", "rate", "20kbit", "burst", "256kb", "latency", "100ms"])
        }
    }

    /// A link down 2 s, up 3 s, five times: the job either rides it out (and still trains, and
    /// stops cleanly on request) or ends within the bound of the first drop.
    func testFlappingLinkFinishesOrEndsWithinTheBound() throws {
        let c = try up(uniqueName("f"))
        let runDir = scratch.appendingPathComponent("run")
        let job = try startTraining(on: c, runDir: runDir)
        XCTAssertTrue(waitForCheckpoint(job, runDir), job.output)
        let link = try link(c, host: 1)
        let first = Date()
        for _ in 0..<5 where job.isRunning {
            try ip(["link", "set", link, "down"])
            usleep(2_000_000)
            try ip(["link", "set", link, "up"])
            usleep(3_000_000)
        }
        if job.isRunning {
            let before = checkpoints(runDir).last
            XCTAssertTrue(waitForCheckpoint(job, runDir, newerThan: before), "no progress after the flapping:\n\(job.output.suffix(2000))")
            kill(job.pid, SIGUSR2)    // mpirun forwards it; rnntrain takes it for SIGTERM
            let r = finish(job)
            XCTAssertEqual(r.status, 143, "a clean stop after flapping:\n\(r.output.suffix(2000))")
            print("flapping: the job rode it out and stopped cleanly")
        } else {
            let r = finish(job)
            let seconds = Date().timeIntervalSince(first)
            print("flapping ended the job after \(String(format: "%.1f", seconds)) s, status \(r.status)")
            XCTAssertLessThanOrEqual(seconds, bound, r.stderr)
            XCTAssertNotEqual(r.status, 0, r.output)
        }
        XCTAssertEqual(try survivors(c, runDir), [], "processes outlived the job")
        try assertNewestCheckpointValid(runDir)
    }

    /// "Say what is slow": at 1 gbit no warning; once one host's link crawls at 1 Mbit/s, rank 0
    /// warns once that every rank waits for the network, not for a rank, and `metrics.jsonl`
    /// shows the exposed communication grown far beyond the compute.
    func testSlowLinkIsReportedAsTheNetwork() throws {
        let c = try up(uniqueName("s"))
        let runDir = scratch.appendingPathComponent("run")
        let job = try startTraining(on: c, runDir: runDir, logEvery: 5)
        let metrics = runDir.appendingPathComponent("metrics.jsonl")
        func records() -> [[String: Any]] {
            ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        XCTAssertTrue(job.wait(until: { records().count >= 4 }, timeout: 60), job.output.suffix(2000).description)
        XCTAssertFalse(job.stderr.contains("warning"), "a warning on a fast link:\n\(job.stderr)")
        let fast = records().count
        try tc(["qdisc", "replace", "dev", try link(c, host: 1), "root", "tbf", "rate", "1mbit", "burst", "32kb", "latency", "400ms"])
        XCTAssertTrue(job.wait(until: { job.stderr.contains("warning") && records().count >= fast + 2 }, timeout: 90),
                      "no warning about the slow link:\n\(job.output.suffix(2000))")
        kill(job.pid, SIGUSR2)
        let r = finish(job, limit: bound + 30)
        let warnings = r.stderr.split(separator: "\n").filter { $0.contains("warning") }
        XCTAssertEqual(warnings.count, 1, "one warning:\n\(r.stderr)")
        XCTAssertTrue(warnings.first?.contains("the network between the hosts is the bottleneck") ?? false, r.stderr)
        let last = try XCTUnwrap(records().last)
        let exposed = try XCTUnwrap(last["exposed_comm_s"] as? Double), compute = try XCTUnwrap(last["compute_s"] as? Double)
        XCTAssertGreaterThan(exposed, 4 * compute, "the last record: \(last)")
        XCTAssertEqual(try survivors(c, runDir), [])
    }

    /// Failure 11: two clusters up at once; taking one down leaves the other's bridge, namespaces
    /// and jobs alone.
    func testTwoClustersDoNotCollide() throws {
        let a = try up(uniqueName("a")), b = try up(uniqueName("b"))
        XCTAssertNotEqual(a.hosts.map(\.address), b.hosts.map(\.address), "the clusters share addresses")
        let down = try cluster(a.name, ["down"])
        XCTAssertEqual(down.status, 0, down.output)
        clusters.removeAll { $0 == a.name }
        let namespaces = Set(try command("/usr/sbin/ip", ["netns", "list"]).stdout.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) })
        for host in a.hosts { XCTAssertFalse(namespaces.contains(host.namespace), "\(host.namespace) survived down") }
        for host in b.hosts { XCTAssertTrue(namespaces.contains(host.namespace), "\(host.namespace) was removed by the other cluster's down") }
        let runDir = scratch.appendingPathComponent("run")
        let r = finish(try startTraining(on: b, runDir: runDir, steps: 30))
        XCTAssertEqual(r.status, 0, "a job on the remaining cluster:\n\(r.output.suffix(3000))")
        XCTAssertTrue(r.stdout.contains("on 2 ranks"), r.stdout)
        XCTAssertNotNil(checkpoints(runDir).last)
    }
}

private struct ClusterError: Error, CustomStringConvertible {
    let description: String
}
