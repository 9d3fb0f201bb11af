import Foundation
import XCTest

/// `--resume auto` says what it found and never silently wastes a run (issue 11, failures 5, 8
/// and 9): no checkpoint is a fresh start said in those words; checkpoints that all fail are each
/// named with the reason and the run refuses to start over unless told to; other data is refused
/// unless allowed; nothing left to do is said and changes nothing.
final class ResumeTruthTests: XCTestCase {
    private var dir: URL!
    private var text: URL!
    private var run: URL!

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        text = try write(ownText(characters: 2000), to: dir.appendingPathComponent("text.txt"))
        run = dir.appendingPathComponent("run")
    }

    private func config(steps: Int, data: URL? = nil) -> String {
        tinyConfig(data: data ?? text, extra: ["train": [("steps", "\(steps)")]])
    }

    private func resume(steps: Int, data: URL? = nil, _ flags: [String] = []) throws -> Tool.Result {
        try train(config(steps: steps, data: data), in: dir, runDir: run, extra: ["--resume", "auto"] + flags)
    }

    /// The run directory's files with their bytes, to show a refused or idle run changed nothing;
    /// but run.lock, which every run that takes the lock rewrites with its pid.
    private func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let root = run.path + "/"
        for case let path as String in FileManager.default.enumerator(atPath: run.path) ?? FileManager.DirectoryEnumerator() {
            let url = URL(fileURLWithPath: root + path)
            if let data = try? Data(contentsOf: url), !isDirectory(url), path != "run.lock" { files[path] = data }
        }
        return files
    }

    private func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private func stateMetadata(step: Int) throws -> [String: String] {
        try SafetensorsFile(url: run.appendingPathComponent("checkpoints/step-0000000\(step)/state.safetensors")).metadata
    }

    func testNoCheckpointIsAFreshStartSaidInThoseWords() throws {
        let r = try resume(steps: 3)
        XCTAssertEqual(r.status, 0, r.stderr)
        // After the line that says the text was prepared into the run directory.
        XCTAssertEqual(lines(r.stdout).filter { !$0.hasPrefix("data: prepared ") }.first,
                       "resume: no checkpoint in \(run.path)/checkpoints; starting fresh")
        XCTAssertTrue(r.stdout.contains("steps 1...3"), r.stdout)
    }

    func testEveryCheckpointInvalidIsListedAndRefusedUnlessFreshIfInvalid() throws {
        XCTAssertEqual(try train(config(steps: 6), in: dir, runDir: run).status, 0)
        let checkpoints = run.appendingPathComponent("checkpoints")
        // Two different kinds of damage, so each reason must be the checkpoint's own.
        let model = checkpoints.appendingPathComponent("step-00000006/model.safetensors")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: model)
        try FileManager.default.removeItem(at: checkpoints.appendingPathComponent("step-00000003/SHA256SUMS"))
        let before = try snapshot()

        let r = try resume(steps: 9)
        assertBadInput(r, mentions: [checkpoints.path, "step-00000006", "step-00000003", "--fresh-if-invalid"],
                       "every checkpoint damaged")
        let listed = lines(r.stdout)
        XCTAssertEqual(listed.count, 2, "each checkpoint, newest first, with its reason:\n\(r.stdout)")
        XCTAssertTrue(listed.first?.hasPrefix("resume: skipped \(model.path): checksum mismatch (SHA256SUMS lists") ?? false, r.stdout)
        XCTAssertEqual(listed.last, "resume: skipped \(checkpoints.path)/step-00000003/SHA256SUMS: missing")
        XCTAssertEqual(try snapshot(), before, "a refused resume changed the run directory")

        let fresh = try resume(steps: 2, ["--fresh-if-invalid"])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertTrue(fresh.stdout.contains("resume: none of the 2 checkpoints in \(checkpoints.path) is valid; starting fresh (--fresh-if-invalid)"),
                      fresh.stdout)
        XCTAssertTrue(fresh.stdout.contains("steps 1...2"), fresh.stdout)
    }

    func testFreshIfInvalidNeedsResumeAuto() throws {
        let r = try train(config(steps: 2), in: dir, runDir: run, extra: ["--fresh-if-invalid"])
        assertBadInput(r, mentions: ["--fresh-if-invalid", "--resume auto"], "--fresh-if-invalid alone")
        assertNothingWritten(run, "--fresh-if-invalid alone")
    }

    /// "cats" spelt "acts": the same characters, so the vocabulary matches; the text does not.
    func testOtherDataIsRefusedNamingBothUnlessAllowed() throws {
        XCTAssertEqual(try train(config(steps: 6), in: dir, runDir: run).status, 0)
        let respelt = try write(try String(contentsOf: text, encoding: .utf8).replacingOccurrences(of: "cats", with: "acts"),
                                  to: dir.appendingPathComponent("respelt.txt"))
        let before = try snapshot()
        let r = try resume(steps: 8, data: respelt)
        assertBadInput(r, mentions: ["step-00000006", "other data", text.path, respelt.path, "--allow-other-data"], "other data")
        XCTAssertEqual(try snapshot(), before, "a refused resume changed the run directory")

        let allowed = try resume(steps: 8, data: respelt, ["--allow-other-data"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertTrue(allowed.stdout.contains("continuing on this data (--allow-other-data)"), allowed.stdout)
        // Each checkpoint records the data it was trained on: the digests differ, and the same
        // data resumes without a word about data.
        let old = try XCTUnwrap(try stateMetadata(step: 6)["data_digest"]), new = try XCTUnwrap(try stateMetadata(step: 8)["data_digest"])
        XCTAssertNotEqual(old, new)
        for digest in [old, new] { XCTAssertTrue(digest.count == 16 && digest.allSatisfy(\.isHexDigit), digest) }
        let again = try resume(steps: 9, data: respelt)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(again.stdout.contains("other data") || again.stdout.contains("digest"), again.stdout)
        XCTAssertEqual(try stateMetadata(step: 9)["data_digest"], new)
    }

    /// Status 0: nothing asked for is left undone, and a requeued finished job must not fail.
    func testNothingLeftToDoIsSaidAndChangesNothing() throws {
        XCTAssertEqual(try train(config(steps: 6), in: dir, runDir: run).status, 0)
        let before = try snapshot()
        for steps in [4, 6] {
            let r = try resume(steps: steps)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(lines(r.stderr), [])
            XCTAssertEqual(lines(r.stdout).last, "nothing to do: checkpoint is at step 6, train.steps is \(steps)")
            XCTAssertFalse(r.stdout.contains("training "), r.stdout)
            XCTAssertEqual(try snapshot(), before, "train.steps \(steps): the run directory changed")
        }
    }
}
