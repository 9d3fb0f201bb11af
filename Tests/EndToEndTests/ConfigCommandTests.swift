import XCTest

/// `rnntrain config` prints what `train` resolves and writes into the run directory.
final class ConfigCommandTests: XCTestCase {
    func testPrintsTheConfigTrainWrites() throws {
        let dir = try scratchDirectory(self)
        let data = try write(ownText(characters: 2_000), to: dir.appendingPathComponent("text.txt"))
        let config = try write(tinyConfig(data: data), to: dir.appendingPathComponent("tiny.yaml"))
        let sets = ["--set", "train.global_batch=12", "--set", "train.deterministic=true", "--set", "train.steps=2"]

        let printed = try Tool.rnntrain(["config", "--config", config.path] + sets)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let values = try XCTUnwrap(readTwoLevelYAML(printed.stdout))
        XCTAssertEqual(values["train.global_batch"], "12")
        XCTAssertEqual(values["train.deterministic"], "true")
        XCTAssertEqual(values["model.hidden"], "12", "a value of the file itself")
        XCTAssertNotNil(values["train.deterministic_group"], "defaults are resolved too")

        let runDir = dir.appendingPathComponent("run")
        let trained = try Tool.rnntrain(["train", "--config", config.path, "--run-dir", runDir.path] + sets)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let written = try String(contentsOf: runDir.appendingPathComponent("config.yaml"), encoding: .utf8)
        XCTAssertEqual(printed.stdout, written, "config prints the file train writes")

        // What it prints is a config that resolves to itself.
        let again = try write(printed.stdout, to: dir.appendingPathComponent("resolved.yaml"))
        let reprinted = try Tool.rnntrain(["config", "--config", again.path])
        XCTAssertEqual(reprinted.status, 0, reprinted.stderr)
        XCTAssertEqual(reprinted.stdout, printed.stdout)
    }

    func testBadOverrideIsOneLine() throws {
        let dir = try scratchDirectory(self)
        let data = try write(ownText(characters: 500), to: dir.appendingPathComponent("text.txt"))
        let config = try write(tinyConfig(data: data), to: dir.appendingPathComponent("tiny.yaml"))
        let r = try Tool.rnntrain(["config", "--config", config.path, "--set", "train.global_batch=0"])
        assertBadInput(r, mentions: ["global_batch"], "global_batch 0")
        XCTAssertEqual(r.stdout, "", "nothing printed for a config that does not load")
        let missing = try Tool.rnntrain(["config", "--config", dir.appendingPathComponent("none.yaml").path])
        assertBadInput(missing, mentions: ["none.yaml"], "a missing config")
    }
}
