import Foundation
import XCTest

// Helpers of the multi-rank tests: a bounded process runner that can find and signal the ranks of
// an `mpirun` job, a scratch directory per test, a generated corpus and config, and comparisons of
// weight files read by Support's SafetensorsFile (the tests compare weights themselves rather
// than trusting `rnntrain diff`).

/// One launched process (`rnntrain` or `mpirun`) whose output goes to files, so it can be read
/// while the process runs and a full pipe can never block it.
final class MultiRankJob {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL
    let started = Date()
    /// Every process of the tree seen so far (mpirun's daemons, the ranks) with its start time, for
    /// teardown: a pid is signalled only while it still names the same process, never a newcomer
    /// that reused the number.
    private(set) var seen: [pid_t: UInt64] = [:]

    /// The environment every launch gets: root allowed for Open MPI, one BLAS thread per rank.
    static let baseEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                  "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"]

    /// `plain`: strip whatever would make a child believe it runs under a launcher; `removing`:
    /// variables of this process's environment the child must not see.
    init(_ executable: URL, _ arguments: [String], scratch: URL, plain: Bool = false,
         environment: [String: String] = [:], removing: [String] = [], directory: URL? = nil) throws {
        let tag = UUID().uuidString.prefix(8)
        stdoutURL = scratch.appendingPathComponent("job-\(tag).out")
        stderrURL = scratch.appendingPathComponent("job-\(tag).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        if plain {
            for key in env.keys where key.hasPrefix("OMPI_COMM_WORLD") || key.hasPrefix("PMIX_") || key.hasPrefix("PMI_") {
                env[key] = nil
            }
        }
        env.merge(Self.baseEnvironment) { $1 }
        env.merge(environment) { $1 }
        for key in removing { env[key] = nil }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var elapsed: TimeInterval { Date().timeIntervalSince(started) }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var output: String { stdout + "\n" + stderr }

    /// Exit status, or 128 + signal when a signal ended the process (as a shell reports it).
    var status: Int32 {
        process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Waits until the process exits or `timeout` seconds pass; true when it exited.
    @discardableResult
    func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            _ = descendants()
            if Date() > deadline { return false }
            usleep(50_000)
        }
        return true
    }

    /// Polls `condition` until it holds, the process exits, or `timeout` passes.
    func wait(until condition: () -> Bool, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            _ = descendants()
            usleep(50_000)
        }
        return condition()
    }

    /// Waits until every one of `pids` has exited (gone or a zombie), whether or not this job
    /// still runs: a rank may outlive mpirun. True when they all did within `timeout`.
    static func waitForExit(of pids: [pid_t], timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        func exited() -> Bool { pids.allSatisfy { [nil, "Z"].contains(state(of: $0)) } }
        while !exited() {
            if Date() > deadline { return false }
            usleep(50_000)
        }
        return true
    }

    /// The live processes below this one, read from /proc (parent links); remembered for teardown.
    /// Empty once the process has been reaped (its pid may then belong to someone else).
    func descendants() -> [pid_t] {
        guard process.isRunning else { return [] }
        var children: [pid_t: [pid_t]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = pid_t(entry), let parent = MultiRankJob.parent(of: p) else { continue }
            children[parent, default: []].append(p)
        }
        var found: [pid_t] = [], frontier = [pid]
        while let p = frontier.popLast() {
            for c in children[p] ?? [] where !found.contains(c) {
                found.append(c)
                frontier.append(c)
            }
        }
        for p in found where seen[p] == nil {
            if let t = MultiRankJob.startTime(of: p) { seen[p] = t }
        }
        return found
    }

    /// The MPI ranks below this process, by the OMPI_COMM_WORLD_RANK in their environment.
    func ranks() -> [Int: pid_t] {
        var out: [Int: pid_t] = [:]
        for p in descendants() {
            guard let env = MultiRankJob.environment(of: p), let r = env["OMPI_COMM_WORLD_RANK"].flatMap(Int.init) else { continue }
            out[r] = p
        }
        return out
    }

    /// Waits until `count` ranks are visible; their pids by rank.
    func waitForRanks(_ count: Int, timeout: TimeInterval) -> [Int: pid_t] {
        var found: [Int: pid_t] = [:]
        _ = wait(until: { found = ranks(); return found.count == count }, timeout: timeout)
        return found
    }

    /// SIGCONT then SIGKILL to every process of the tree (so stopped ones die too), then reaps.
    func killTree() {
        _ = descendants()
        let same = seen.filter { MultiRankJob.startTime(of: $0.key) == $0.value }.map(\.key)
        for p in same { kill(p, SIGCONT) }
        for p in same { kill(p, SIGKILL) }
        if process.isRunning { kill(pid, SIGKILL) }
        _ = wait(timeout: 10)
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    static func startTime(of p: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the comm: state is field 3, so start time (field 22) is the 20th.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    static func parent(of p: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    static func environment(of p: pid_t) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(p)/environ") else { return nil }
        var env: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            env[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return env
    }

    /// State letter from /proc/PID/stat ("T" when stopped), nil when gone.
    static func state(of p: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }
}

/// What a finished, bounded run gave.
struct MultiRankResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: TimeInterval
    var output: String { stdout + "\n" + stderr }
}

/// Base of the multi-rank test classes: a scratch directory, the corpus and config, launchers.
class MultiRankTestCase: XCTestCase {
    static let mpirun = URL(fileURLWithPath: "/usr/bin/mpirun")
    /// No single run of these tiny models should come near this; a hang is killed and fails the test.
    static let runLimit: TimeInterval = 60

    var scratch: URL!
    var corpus: URL!
    private var jobs: [MultiRankJob] = []

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Tool.binary.path),
                          "build first: \(Tool.binary.path) is missing")
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("MultiRank-\(String(name.filter { $0.isLetter || $0.isNumber }.suffix(40)))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        corpus = scratch.appendingPathComponent("corpus.txt")
        try MultiRankTestCase.corpusText().write(to: corpus, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        for job in jobs { job.killTree() }
        jobs = []
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
        super.tearDown()
    }

    /// ~6 KB of lowercase sentences from a fixed word list (or `words`) and a fixed-seed generator
    /// (SplitMix64), the same bytes on every call.
    static func corpusText(bytes: Int = 6000, words: [String] = ["the", "a", "river", "stone", "bird", "sings", "falls",
                           "over", "under", "quiet", "old", "green", "hill", "runs", "and", "slowly", "wind", "carries",
                           "light", "home", "small", "boat", "drifts", "past", "every", "morning", "field", "of", "grey",
                           "rain"]) -> String {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var text = ""
        while text.utf8.count < bytes {
            let length = 4 + Int(next() % 6)
            text += (0..<length).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ") + ".\n"
        }
        return text
    }

    /// A tiny 2-layer LSTM config on the generated corpus; `extra` lines ("key: value") go into
    /// their sections, replacing the base line of the same key.
    func writeConfig(_ name: String = "config.yaml", dataPath: String? = nil, lr: String = "0.01",
                     extra: [String: [String]] = [:]) throws -> URL {
        let sections: [(String, [String])] = [
            ("model", ["cell: lstm", "layers: 2", "hidden: 16", "embedding: 8"]),
            ("data", ["path: \"\(dataPath ?? corpus.path)\"", "val_fraction: 0.1", "tokenizer: char"]),
            ("train", ["global_batch: 8", "seq_len: 8", "steps: 30"]),
            ("optimizer", ["type: adam", "lr: \(lr)"]),
            ("checkpoint", ["every: 0", "keep: 10"]),
            ("log", ["every: 10", "eval_every: 10"]),
        ]
        // An extra line replaces the base line of the same key (duplicate keys are errors).
        func key(_ line: String) -> Substring { line.prefix { $0 != ":" } }
        var yaml = ""
        for (section, base) in sections {
            let more = extra[section] ?? []
            yaml += "\(section):\n"
            for line in base.filter({ b in !more.contains { key($0) == key(b) } }) + more { yaml += "  \(line)\n" }
        }
        for section in extra.keys.sorted() where !sections.contains(where: { $0.0 == section }) {
            yaml += "\(section):\n" + extra[section]!.map { "  \($0)\n" }.joined()
        }
        let url = scratch.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    // MARK: Launching

    /// Starts a job and remembers it for teardown.
    func start(_ executable: URL, _ arguments: [String], plain: Bool = false, environment: [String: String] = [:],
               removing: [String] = [], directory: URL? = nil) throws -> MultiRankJob {
        let job = try MultiRankJob(executable, arguments, scratch: scratch, plain: plain, environment: environment,
                                   removing: removing, directory: directory)
        jobs.append(job)
        return job
    }

    /// mpirun's options for `ranks` processes on this machine (2 cores: more ranks oversubscribe).
    static func mpirunOptions(ranks: Int) -> [String] {
        var options = ["-np", "\(ranks)", "-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"]
        if ranks > 2 { options += ["--oversubscribe", "--bind-to", "none"] }
        return options
    }

    /// Starts `rnntrain ARGS` as a plain process (ranks == 0) or under `mpirun -np ranks`.
    func startTool(ranks: Int, _ arguments: [String]) throws -> MultiRankJob {
        if ranks == 0 { return try start(Tool.binary, arguments, plain: true) }
        return try start(Self.mpirun, Self.mpirunOptions(ranks: ranks) + [Tool.binary.path] + arguments)
    }

    /// Waits for a started job at most `limit` seconds; a job still running then is killed with
    /// its whole tree and the test fails.
    func finish(_ job: MultiRankJob, limit: TimeInterval = runLimit, file: StaticString = #filePath,
                line: UInt = #line) -> MultiRankResult {
        if !job.wait(timeout: limit) {
            job.killTree()
            XCTFail("\(job.process.executableURL!.lastPathComponent) \(job.process.arguments!.joined(separator: " ")) "
                    + "still running after \(Int(limit)) s; killed.\nstdout:\n\(job.stdout.suffix(2000))\nstderr:\n\(job.stderr.suffix(2000))",
                    file: file, line: line)
            return MultiRankResult(status: -1, stdout: job.stdout, stderr: job.stderr, seconds: job.elapsed)
        }
        return MultiRankResult(status: job.status, stdout: job.stdout, stderr: job.stderr, seconds: job.elapsed)
    }

    /// Stops rank `rank` (process `pid`) with SIGSTOP and checks that the job then ends within
    /// `limit` seconds with status 2, the other ranks naming the stopped one; a job still running
    /// then is killed with its whole tree.
    func assertStoppingEndsTheJob(_ job: MultiRankJob, rank: Int, pid: pid_t, limit: TimeInterval,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(kill(pid, SIGSTOP), 0, file: file, line: line)
        let stopped = Date()
        let ended = job.wait(timeout: limit)
        let seconds = Date().timeIntervalSince(stopped)
        if !ended { job.killTree() }
        XCTAssertTrue(ended, "still running \(Int(seconds)) s after rank \(rank) stopped:\n\(job.output.suffix(3000))",
                      file: file, line: line)
        XCTAssertEqual(job.status, 2, job.output.suffix(3000).description, file: file, line: line)
        XCTAssertTrue(job.stderr.contains("rank \(rank) made no progress"), job.stderr.suffix(3000).description,
                      file: file, line: line)
    }

    /// Runs `rnntrain ARGS` (plain or under mpirun) to completion within the run limit.
    func runTool(ranks: Int, _ arguments: [String], limit: TimeInterval = runLimit, file: StaticString = #filePath,
                 line: UInt = #line) throws -> MultiRankResult {
        finish(try startTool(ranks: ranks, arguments), limit: limit, file: file, line: line)
    }

    /// `rnntrain train` into a fresh run directory, asserting success and that the job really was
    /// one world of `ranks` (a broken launch would run independent single processes instead).
    /// Returns the run directory.
    @discardableResult
    func train(ranks: Int, config: URL, runDir: String, _ settings: [String] = [], resume: Bool = false,
               file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let dir = scratch.appendingPathComponent(runDir)
        var args = ["train", "--config", config.path, "--run-dir", dir.path]
        if resume { args += ["--resume", "auto"] }
        for s in settings { args += ["--set", s] }
        let r = try runTool(ranks: ranks, args, file: file, line: line)
        XCTAssertEqual(r.status, 0, "training at np \(ranks) failed:\n\(r.output.suffix(3000))", file: file, line: line)
        let world = max(ranks, 1)
        let banner = "on \(world) rank\(world == 1 ? "" : "s")"
        let banners = r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("training ") }
        XCTAssertEqual(banners.count, 1, "expected one start line from one world of \(world):\n\(r.stdout.suffix(2000))",
                       file: file, line: line)
        XCTAssertTrue(banners.allSatisfy { $0.contains(banner) }, "not one world of \(world): \(banners)", file: file, line: line)
        return dir
    }

    // MARK: Checkpoints

    /// The canonical checkpoint directories of a run ("step-%08d"), oldest first.
    func checkpoints(_ runDir: URL) -> [URL] {
        let dir = runDir.appendingPathComponent("checkpoints")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasPrefix("step-") && $0.dropFirst(5).allSatisfy(\.isNumber) }.sorted()
        return names.map { dir.appendingPathComponent($0) }
    }

    func checkpoint(_ runDir: URL, step: Int) -> URL {
        runDir.appendingPathComponent("checkpoints").appendingPathComponent(String(format: "step-%08d", step))
    }

    func weights(_ runDir: URL, step: Int, file: StaticString = #filePath, line: UInt = #line) throws -> SafetensorsFile {
        let url = checkpoint(runDir, step: step).appendingPathComponent("model.safetensors")
        do {
            let weights = try SafetensorsFile(url: url)
            try weights.checkFloat32()
            return weights
        } catch {
            XCTFail("\(url.path): \(error)", file: file, line: line)
            throw error
        }
    }

    // MARK: Comparing weights

    /// Asserts that two weight files hold the same tensors and that every float differs by at most
    /// `tolerance`; returns the largest difference.
    @discardableResult
    func assertClose(_ a: SafetensorsFile, _ b: SafetensorsFile, tolerance: Float, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.names, b.names, "\(what): different tensors", file: file, line: line)
        XCTAssertFalse(a.names.isEmpty, "\(what): no tensors", file: file, line: line)
        var worst: Float = 0, where_ = ""
        for name in a.names {
            guard let xs = a.entries[name]?.shape, let ys = b.entries[name]?.shape else { continue }
            XCTAssertEqual(xs, ys, "\(what): \(name) shapes differ", file: file, line: line)
            let x = a.floats(name), y = b.floats(name)
            guard x.count == y.count else { continue }
            for i in x.indices {
                let d = abs(x[i] - y[i])
                if !(d <= worst) { worst = d; where_ = "\(name)[\(i)]: \(x[i]) vs \(y[i])" }
            }
        }
        XCTAssertTrue(worst <= tolerance, "\(what): max |Δ| \(worst) > \(tolerance) at \(where_)", file: file, line: line)
        return worst
    }

    /// Asserts that two weight files hold the same tensors with the same data bytes.
    func assertBitIdentical(_ a: SafetensorsFile, _ b: SafetensorsFile, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.names, b.names, "\(what): different tensors", file: file, line: line)
        XCTAssertFalse(a.names.isEmpty, "\(what): no tensors", file: file, line: line)
        var differing: [String] = []
        for name in a.names {
            guard let xs = a.entries[name]?.shape, let ys = b.entries[name]?.shape else { continue }
            if xs != ys || a.data(name) != b.data(name) {
                let diff = zip(a.floats(name), b.floats(name)).map { abs($0 - $1) }.max() ?? .nan
                differing.append("\(name) (max |Δ| \(diff))")
            }
        }
        XCTAssertTrue(differing.isEmpty, "\(what): not bit-identical: \(differing.joined(separator: ", "))", file: file, line: line)
    }

    /// The largest |Δ| between two weight files of the same tensors.
    func largestDifference(_ a: SafetensorsFile, _ b: SafetensorsFile) -> Float {
        var worst: Float = 0
        for name in a.names {
            for (u, v) in zip(a.floats(name), b.floats(name)) { worst = max(worst, abs(u - v)) }
        }
        return worst
    }
}
