import Foundation
import Glibc
import XCTest

/// The ways a hostile user or a careless operator lost work, replaced a device, leaked a file or
/// hung a run (issue 21), each as the command they ran. Special files are made here, in a
/// scratch directory: never in /dev.
final class HostileUserTests: XCTestCase {
    private var dir: URL!
    private var text: URL!
    private var config: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 1500), to: dir.appendingPathComponent("text.txt"))
        config = try write(tinyConfig(data: text), to: dir.appendingPathComponent("config.yaml"))
    }

    /// A trained run's directory and its last checkpoint (step 6).
    private func trainedRun() throws -> (run: URL, checkpoint: URL) {
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (run, run.appendingPathComponent("checkpoints/step-00000006"))
    }

    /// The special files an output path may already be, each with what it must still be after
    /// a writer refused it: a FIFO, a symlink to a file of someone's, a dangling symlink and a
    /// directory.
    private func specialFiles(named name: String) throws -> [(url: URL, kind: String, intact: () -> Bool)] {
        let place = dir.appendingPathComponent("special-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: place, withIntermediateDirectories: false)
        let secret = try write("someone's secret\n", to: place.appendingPathComponent("secret"))
        var made: [(URL, String, () -> Bool)] = []
        for kind in ["FIFO", "symlink", "dangling symlink", "directory"] {
            let holder = place.appendingPathComponent(kind.replacingOccurrences(of: " ", with: "-"))
            try FileManager.default.createDirectory(at: holder, withIntermediateDirectories: false)
            let url = holder.appendingPathComponent(name)
            switch kind {
            case "FIFO": XCTAssertEqual(mkfifo(url.path, 0o644), 0)
            case "symlink": XCTAssertEqual(symlink(secret.path, url.path), 0)
            case "dangling symlink": XCTAssertEqual(symlink(place.appendingPathComponent("nowhere").path, url.path), 0)
            default: try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
            }
            let mode = Self.kind(url)
            made.append((url, kind, {
                Self.kind(url) == mode && (try? String(contentsOf: secret, encoding: .utf8)) == "someone's secret\n"
                    && !FileManager.default.fileExists(atPath: place.appendingPathComponent("nowhere").path)
            }))
        }
        return made
    }

    /// The file type bits of `url` itself (not of what a link names); 0 when missing.
    private static func kind(_ url: URL) -> mode_t {
        var info = stat()
        return lstat(url.path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    // MARK: 1. Writers replace only regular files

    func testExportRefusesAnOutputThatIsNotARegularFile() throws {
        let (_, checkpoint) = try trainedRun()
        for (url, kind, intact) in try specialFiles(named: "model.onnx") {
            let r = try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", url.path])
            assertBadInput(r, mentions: [url.path], "export --onnx <\(kind)>")
            XCTAssertTrue(intact(), "export replaced or wrote through a \(kind)")
        }
        let empty = try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", ""])
        XCTAssertEqual(empty.status, 2, empty.stderr)
    }

    /// As root, a rename over a device node replaces the device: the test's own node, made
    /// like /dev/null with mknod, must still be a character device afterwards.
    func testExportRefusesADeviceNode() throws {
        guard geteuid() == 0 else { throw XCTSkip("mknod needs root") }
        let (_, checkpoint) = try trainedRun()
        let device = dir.appendingPathComponent("null-device")
        XCTAssertEqual(mknod(device.path, S_IFCHR | 0o666, (1 << 8) | 3), 0, String(cString: strerror(errno)))
        let r = try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", device.path])
        assertBadInput(r, mentions: [device.path, "character device"], "export --onnx <device>")
        XCTAssertEqual(Self.kind(device), S_IFCHR, "the device node was replaced")
    }

    func testNGramRefusesAModelFileThatIsNotARegularFile() throws {
        for (url, kind, intact) in try specialFiles(named: "model.arpa") {
            let r = try Tool.rnntrain(["ngram", "--config", config.path, "--run-dir", url.deletingLastPathComponent().path,
                                       "--set", "ngram.order=2"])
            assertBadInput(r, mentions: [url.path], "ngram with model.arpa a \(kind)")
            XCTAssertTrue(intact(), "ngram replaced or wrote through a \(kind)")
        }
    }

    /// metrics.jsonl and config.yaml in a run directory, its checkpoints/ and tb/, and data/ (the
    /// text prepared), where a directory not prepared by a run (no source.json) is refused too.
    func testTrainingRefusesRunFilesThatAreNotRegularFiles() throws {
        for name in ["metrics.jsonl", "config.yaml", "checkpoints", "tb", "data"] {
            for (url, kind, intact) in try specialFiles(named: name) where !(kind == "directory" && ["checkpoints", "tb"].contains(name)) {
                let run = url.deletingLastPathComponent()
                let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path, "--set", "log.tensorboard=true"])
                XCTAssertEqual(r.status, 2, "\(name) a \(kind): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(url.path), "\(name) a \(kind): \(r.stderr)")
                XCTAssertTrue(intact(), "training replaced or wrote through \(name), a \(kind)")
            }
        }
    }

    // MARK: 2. A run directory that cannot be read is not "no checkpoint"

    func testResumeAutoStopsOnACheckpointsDirectoryThatIsAFile() throws {
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: false)
        _ = try write("not a directory\n", to: run.appendingPathComponent("checkpoints"))
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(run.path)/checkpoints: \(String(cString: strerror(ENOTDIR)))"), r.stderr)
        XCTAssertFalse(r.stdout.contains("starting fresh"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("metrics.jsonl").path))
    }

    /// The issue's reproduction, as an unprivileged user (root reads any directory): a valid
    /// checkpoint behind `chmod 300 checkpoints` must stop `--resume auto`, not be overwritten.
    func testResumeAutoStopsOnAnUnreadableCheckpointsDirectory() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run the tool as the unprivileged user nobody") }
        let (run, checkpoint) = try trainedRun()
        let model = checkpoint.appendingPathComponent("model.safetensors")
        let before = try Data(contentsOf: model)
        let own = Process()
        own.executableURL = URL(fileURLWithPath: "/bin/chown")
        own.arguments = ["-R", "65534:65534", dir.path]
        try own.run()
        own.waitUntilExit()
        XCTAssertEqual(chmod(run.appendingPathComponent("checkpoints").path, 0o300), 0)
        let r = try Tool.run(URL(fileURLWithPath: "/usr/bin/setpriv"),
                             ["--reuid=65534", "--regid=65534", "--clear-groups", Tool.binary.path, "train", "--config", config.path,
                              "--run-dir", run.path, "--resume", "auto", "--set", "train.steps=8"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("\(run.path)/checkpoints: \(String(cString: strerror(EACCES)))"), r.stderr)
        XCTAssertFalse(r.stdout.contains("starting fresh"), r.stdout)
        XCTAssertEqual(chmod(run.appendingPathComponent("checkpoints").path, 0o755), 0)
        XCTAssertEqual(try Data(contentsOf: model), before, "the valid checkpoint was overwritten")
    }

    // MARK: 3. A reader that goes away

    /// Runs rnntrain with stdout a pipe whose reading end is closed after the first line, as
    /// `| head -1` does, and returns its status and stderr.
    private func runIntoClosedPipe(_ arguments: [String]) throws -> (status: Int32, signaled: Bool, stderr: String) {
        let process = Process()
        process.executableURL = Tool.binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var first: [UInt8] = []
        while !first.contains(UInt8(ascii: "\n")), let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
            first += byte
        }
        try out.fileHandleForReading.close()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, String(decoding: stderr, as: UTF8.self))
    }

    func testABrokenPipeLetsTrainingFinishAndExit2() throws {
        let run = dir.appendingPathComponent("run")
        // 2000 lines of progress, more than the pipe holds (64 KiB), so the run cannot have
        // written them all before the reader goes.
        let r = try runIntoClosedPipe(["train", "--config", config.path, "--run-dir", run.path, "--set", "log.every=1",
                                       "--set", "checkpoint.every=1000", "--set", "train.steps=2000"])
        XCTAssertFalse(r.signaled, "killed by signal \(r.status); stderr: \(r.stderr)")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("standard output: \(String(cString: strerror(EPIPE)))"), r.stderr)
        XCTAssertEqual(checkpointNames(run).last, "step-00002000", "training did not finish")
    }

    func testABrokenPipeEndsSampleWithStatus2() throws {
        let (_, checkpoint) = try trainedRun()
        let r = try runIntoClosedPipe(["sample", "--checkpoint", checkpoint.path, "--length", "2000000"])
        XCTAssertFalse(r.signaled, "killed by signal \(r.status); stderr: \(r.stderr)")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("standard output: \(String(cString: strerror(EPIPE)))"), r.stderr)
    }

    // MARK: 4. A closed standard output

    func testAClosedStdoutIsLostOutputNotTheLockFile() throws {
        let run = dir.appendingPathComponent("run")
        let r = try Tool.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "exec \"$0\" \"$@\" >&-", Tool.binary.path,
                                                             "train", "--config", config.path, "--run-dir", run.path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("standard output: closed"), r.stderr)
        XCTAssertEqual(checkpointNames(run).last, "step-00000006", "training did not finish")
        let lock = try String(contentsOf: run.appendingPathComponent("run.lock"), encoding: .utf8)
        XCTAssertTrue(lock.hasPrefix("host ") && lines(lock).count == 1, "run.lock holds: \(lock)")
    }

    // MARK: 5. Files inside a checkpoint are not followed, nor quoted

    /// A copy of `checkpoint` whose `name` is replaced by `replace` (a link or a file) and whose
    /// SHA256SUMS is made again, as someone handing it over would.
    private func doctored(_ checkpoint: URL, _ name: String, _ replace: (URL) throws -> Void) throws -> URL {
        let copy = dir.appendingPathComponent("doctored-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent(name))
        try replace(copy.appendingPathComponent(name))
        let names = try FileManager.default.contentsOfDirectory(atPath: copy.path).filter { $0 != "SHA256SUMS" }.sorted()
        let sums = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), names, directory: copy)
        XCTAssertEqual(sums.status, 0, sums.stderr)
        _ = try write(sums.stdout, to: copy.appendingPathComponent("SHA256SUMS"))
        return copy
    }

    func testLinksInsideACheckpointAreRefusedAndTheirTargetsNeverQuoted() throws {
        let (run, checkpoint) = try trainedRun()
        let secret = try write("SECRETUSER:$y$j9T$SECRETHASH:20228:0:99999:7:::\n", to: dir.appendingPathComponent("shadow"))
        for name in ["config.yaml", "model.safetensors", "state.safetensors", "SHA256SUMS"] {
            let copy: URL
            if name == "SHA256SUMS" {
                // A link to a manifest that lists the files correctly: only the link is wrong.
                copy = try doctored(checkpoint, "config.yaml") { try FileManager.default.copyItem(at: checkpoint.appendingPathComponent("config.yaml"), to: $0) }
                let sums = dir.appendingPathComponent("sums-\(UUID().uuidString)")
                try FileManager.default.moveItem(at: copy.appendingPathComponent(name), to: sums)
                XCTAssertEqual(symlink(sums.path, copy.appendingPathComponent(name).path), 0)
            } else {
                copy = try doctored(checkpoint, name) { XCTAssertEqual(symlink(secret.path, $0.path), 0) }
            }
            for arguments in [["eval", "--checkpoint", copy.path, "--data", text.path], ["inspect", copy.path],
                              ["train", "--config", config.path, "--run-dir", run.path, "--resume", copy.path, "--set", "train.steps=8"]] {
                let r = try Tool.rnntrain(arguments)
                assertBadInput(r, mentions: ["\(copy.path)/\(name)", "symbolic link"], "\(arguments[0]) with \(name) a link")
                XCTAssertFalse(r.stderr.contains("SECRET") || r.stdout.contains("SECRET"), "\(arguments[0]) quoted the link's target: \(r.stderr)")
            }
        }
        XCTAssertEqual(checkpointNames(run).last, "step-00000006", "a refused resume wrote a checkpoint")
    }

    func testACheckpointsConfigIsQuotedOnlyAsAShortExcerpt() throws {
        let (_, checkpoint) = try trainedRun()
        let key = "SECRETUSER:$y$j9T$" + String(repeating: "0123456789", count: 8) + "SECRETTAIL"
        let copy = try doctored(checkpoint, "config.yaml") { _ = try write("\(key): 1\n", to: $0) }
        let r = try Tool.rnntrain(["inspect", copy.path])
        assertBadInput(r, mentions: ["\(copy.path)/config.yaml"], "inspect with a hostile config.yaml")
        XCTAssertFalse(r.stderr.contains("SECRETTAIL"), "more than a short excerpt was quoted: \(r.stderr)")
    }

    func testALinkedStepDirectoryIsSkippedByResumeAuto() throws {
        let (run, checkpoint) = try trainedRun()
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.copyItem(at: checkpoint, to: elsewhere)
        let link = run.appendingPathComponent("checkpoints/step-00000009")
        XCTAssertEqual(symlink(elsewhere.path, link.path), 0)
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path, "--resume", "auto", "--set", "train.steps=8"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("skipped \(link.path): a symbolic link"), r.stdout)
        XCTAssertTrue(r.stdout.contains("continuing from \(checkpoint.path)"), r.stdout)
    }

    func testALockFileIsQuotedOnlyWhenItNamesAHolder() throws {
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: false)
        let lock = try write("SECRET progress line, not a holder\n", to: run.appendingPathComponent("run.lock"))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--no-fork", lock.path, "sleep", "30"]
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        // Until flock holds the lock: `flock -n` then fails with status 1.
        for _ in 0..<100 where try Tool.run(holder.executableURL!, ["-n", lock.path, "true"]).status == 0 { usleep(50_000) }
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path])
        assertBadInput(r, mentions: ["in use by another run", "does not name it"], "a lock held with a foreign line")
        XCTAssertFalse(r.stderr.contains("SECRET"), r.stderr)
    }

    // MARK: The small ones

    func testAConfigWithoutDataPathNamesTheKey() throws {
        let url = try write(tinyConfig(data: text).replacingOccurrences(of: "  path: \"\(text.path)\"\n", with: ""),
                            to: dir.appendingPathComponent("nodata.yaml"))
        XCTAssertFalse(try String(contentsOf: url, encoding: .utf8).contains(text.path))
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["train", "--config", url.path, "--run-dir", run.path])
        assertBadInput(r, mentions: ["data.path is not set"], "no data.path")
        assertNothingWritten(run, "no data.path")
    }

    func testAControlCharacterInASetValueIsRefused() throws {
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path, "--set", "data.path=\(text.path)\nother"])
        assertBadInput(r, mentions: ["--set", "control character"], "newline in --set")
        assertNothingWritten(run, "newline in --set")
    }

    func testAnEmptyRunDirIsRefused() throws {
        let cwd = dir.appendingPathComponent("cwd")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: false)
        for command in [["train", "--config", config.path], ["ngram", "--config", config.path]] {
            let r = try Tool.rnntrain(command + ["--run-dir", ""], directory: cwd)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("--run-dir"), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), [], "\(command[0]) wrote into the current directory")
        }
    }

    /// With this machine's memory shared among as many ranks as leave each 1 MiB
    /// (MPI_LOCALNRANKS says how many share the node), a 2 MB text, which would take about 8
    /// bytes a character to read into memory, trains: it is prepared into the run directory and
    /// mapped, never held. (A rank that cannot see that preparation reads the text, and the
    /// same memory check as before refuses it there before reading.)
    func testACorpusLargerThanTheMemoryShareTrainsPreparedNotRead() throws {
        let big = try write(String(repeating: ownText(characters: 2000) + "\n", count: 1000), to: dir.appendingPathComponent("big.txt"))
        let ranks = Int(Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576)
        let run = dir.appendingPathComponent("run")
        let r = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", run.path, "--set", "data.path=\(big.path)"],
                                  environment: ["MPI_LOCALNRANKS": String(ranks)])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("data: prepared \(big.path)"), r.stdout)
    }
}
