@testable import Checkpoints
import ErrorAssertions
import Files
import Foundation
import XCTest

final class CheckpointStoreTests: XCTestCase {
    private var root: URL!
    private var store: CheckpointStore!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // The store creates its own directory (and missing parents) on the first write.
        store = CheckpointStore(directory: root.appendingPathComponent("run/checkpoints"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: - Helpers

    private func files(seed: UInt8) -> [String: [UInt8]] {
        [
            "model.safetensors": (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) },
            "state.safetensors": (0..<500).map { UInt8(truncatingIfNeeded: $0 ^ Int(seed)) },
            "empty.bin": [],
        ]
    }

    private func path(_ step: Int, _ name: String? = nil) -> URL {
        let directory = store.directory.appendingPathComponent(String(format: "step-%08d", step), isDirectory: true)
        return name.map { directory.appendingPathComponent($0) } ?? directory
    }

    private func entries(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    private func flipByte(_ url: URL, at index: Int = 10) throws {
        var bytes = try [UInt8](Data(contentsOf: url))
        bytes[index] ^= 0x01
        try Data(bytes).write(to: url)
    }

    private func assertReadFails(_ checkpoint: URL, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointStore.read(checkpoint), file: file, line: line) { error in
            guard let error = error as? UserError else { return XCTFail("not a UserError: \(error)", file: file, line: line) }
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    /// Runs `sha256sum -c SHA256SUMS` in `directory`; returns its exit status.
    private func sha256sumCheck(in directory: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = ["-c", "--quiet", "SHA256SUMS"]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    // MARK: - Round trip

    func testWriteListReadRoundTrip() throws {
        let url5 = try store.write(step: 5, files: files(seed: 5))
        let url12 = try store.write(step: 12, files: files(seed: 12))
        XCTAssertEqual(url5.lastPathComponent, "step-00000005")
        XCTAssertEqual(url12, path(12))
        XCTAssertEqual(try store.list().map(\.step), [5, 12])
        XCTAssertEqual(try store.list().map(\.url), [url5, url12])
        XCTAssertEqual(try CheckpointStore.read(url5), files(seed: 5))
        XCTAssertEqual(try CheckpointStore.read(url12), files(seed: 12))
        XCTAssertEqual(entries(url5), ["SHA256SUMS", "empty.bin", "model.safetensors", "state.safetensors"])
        XCTAssertEqual(entries(store.directory), ["step-00000005", "step-00000012"], "no temporary left behind")
    }

    func testManifestIsSortedSha256sumFormat() throws {
        let files = files(seed: 3)
        let url = try store.write(step: 3, files: files)
        let manifest = try String(contentsOf: url.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let expected = files.keys.sorted().map { SHA256.hex(SHA256.hash(files[$0]!)) + "  " + $0 + "\n" }.joined()
        XCTAssertEqual(manifest, expected)
        XCTAssertTrue(manifest.contains("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.bin\n"))
    }

    func testSha256sumVerifiesTheManifest() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        XCTAssertEqual(try sha256sumCheck(in: url), 0)
        try flipByte(url.appendingPathComponent("model.safetensors"))
        XCTAssertNotEqual(try sha256sumCheck(in: url), 0, "sha256sum must notice the flipped byte")
    }

    func testRewritingAStepReplacesIt() throws {
        try store.write(step: 4, files: files(seed: 1))
        let url = try store.write(step: 4, files: ["only.bin": [1, 2, 3]])
        XCTAssertEqual(try CheckpointStore.read(url), ["only.bin": [1, 2, 3]])
        XCTAssertEqual(entries(store.directory), ["step-00000004"])
    }

    func testLargeStepsAndBadFileNames() throws {
        try store.write(step: 123_456_789, files: ["a": [1]])
        XCTAssertEqual(try store.list().map(\.step), [123_456_789])
        for name in ["", "a/b", "SHA256SUMS", ".hidden", "..", "line\nbreak"] {
            XCTAssertThrowsError(try store.write(step: 2, files: [name: [1]]), "name \(name.debugDescription)") { error in
                XCTAssertTrue(error is UserError)
            }
        }
        XCTAssertEqual(try store.list().map(\.step), [123_456_789])
    }

    // MARK: - Detecting damage

    func testFlippedByteIsAChecksumMismatch() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        try flipByte(url.appendingPathComponent("model.safetensors"), at: 2999)
        assertReadFails(url, ["model.safetensors: checksum mismatch", url.path])
    }

    func testTruncatedFileIsAChecksumMismatch() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        let file = url.appendingPathComponent("state.safetensors")
        try Data(try Data(contentsOf: file).prefix(100)).write(to: file)
        assertReadFails(url, ["state.safetensors: checksum mismatch"])
    }

    func testDeletedFileIsMissing() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        try FileManager.default.removeItem(at: url.appendingPathComponent("state.safetensors"))
        assertReadFails(url, ["state.safetensors: missing"])
    }

    func testUnlistedFileIsRejected() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        try Data([1]).write(to: url.appendingPathComponent("stray.bin"))
        assertReadFails(url, ["stray.bin: not listed in SHA256SUMS"])
    }

    func testManifestProblems() throws {
        let url = try store.write(step: 1, files: files(seed: 1))
        let manifestURL = url.appendingPathComponent("SHA256SUMS")
        let good = try String(contentsOf: manifestURL, encoding: .utf8)
        let original = good.split(separator: "\n").map(String.init)
        var lines = original

        // A missing last newline is tolerated (hand edits), and sha256sum's binary marker too.
        try (lines.joined(separator: "\n")).write(to: manifestURL, atomically: false, encoding: .utf8)
        XCTAssertEqual(try CheckpointStore.read(url), files(seed: 1))

        lines[2] = String(lines[2].prefix(64)) + " *" + lines[2].dropFirst(66)
        try (lines.joined(separator: "\n") + "\n").write(to: manifestURL, atomically: false, encoding: .utf8)
        XCTAssertEqual(try CheckpointStore.read(url), files(seed: 1))

        for (lineNumber, bad) in [(3, "zz" + lines[2].dropFirst(2)), (3, String(lines[2].prefix(65))), (3, ""), (3, original[2].replacingOccurrences(of: "  ", with: " "))] {
            var edited = lines
            edited[lineNumber - 1] = bad
            try (edited.joined(separator: "\n") + "\n").write(to: manifestURL, atomically: false, encoding: .utf8)
            assertReadFails(url, ["SHA256SUMS: malformed line \(lineNumber)"])
        }

        try (lines + [lines[0]]).joined(separator: "\n").write(to: manifestURL, atomically: false, encoding: .utf8)
        assertReadFails(url, ["SHA256SUMS: line 4", "second time"])

        try FileManager.default.removeItem(at: manifestURL)
        assertReadFails(url, ["SHA256SUMS: missing"])
        assertReadFails(store.directory.appendingPathComponent("step-00000099"), ["step-00000099"])
    }

    // MARK: - Choosing a checkpoint to resume from

    func testNewestValidSkipsCorruptNewerOnes() throws {
        for step in [1, 2, 3] { try store.write(step: step, files: files(seed: UInt8(step))) }
        try flipByte(path(3, "model.safetensors"))
        let search = try store.newestValid()
        let newest = try XCTUnwrap(search.newest)
        XCTAssertEqual(newest.step, 2)
        XCTAssertEqual(newest.url, path(2))
        XCTAssertEqual(newest.files, files(seed: 2))
        XCTAssertEqual(search.skipped.count, 1)
        XCTAssertTrue(search.skipped[0].contains("step-00000003"), search.skipped[0])
        XCTAssertTrue(search.skipped[0].contains("model.safetensors: checksum mismatch"), search.skipped[0])

        // None valid: every one is rejected, newest first, each with its own reason.
        try FileManager.default.removeItem(at: path(1, "SHA256SUMS"))
        try FileManager.default.removeItem(at: path(2, "empty.bin"))
        let none = try store.newestValid()
        XCTAssertNil(none.newest)
        XCTAssertEqual(none.skipped.count, 3, "\(none.skipped)")
        for (reason, (step, fragment)) in zip(none.skipped, [(3, "checksum mismatch"), (2, "empty.bin: missing"), (1, "SHA256SUMS: missing")]) {
            XCTAssertTrue(reason.contains("step-0000000\(step)") && reason.contains(fragment), reason)
        }
        let empty = try CheckpointStore(directory: root.appendingPathComponent("nothing-here")).newestValid()
        XCTAssertNil(empty.newest)
        XCTAssertEqual(empty.skipped, [])
    }

    func testForeignAndTemporaryNamesAreIgnoredAndStaleTemporariesPruned() throws {
        try store.write(step: 2, files: files(seed: 2))
        let deadWriter = store.directory.appendingPathComponent(".tmp-step-00000009-99999999")  // pid above pid_max
        let liveWriter = store.directory.appendingPathComponent(".tmp-step-00000009-\(getppid())")
        for directory in [deadWriter, liveWriter] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            try Data([1, 2]).write(to: directory.appendingPathComponent("model.safetensors"))
        }
        try FileManager.default.createDirectory(at: store.directory.appendingPathComponent("step-7"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(at: store.directory.appendingPathComponent("step-000000010"), withIntermediateDirectories: false)
        try Data([1]).write(to: store.directory.appendingPathComponent("step-00000008"))  // a file, not a directory
        try Data([1]).write(to: store.directory.appendingPathComponent("notes.txt"))

        XCTAssertEqual(try store.list().map(\.step), [2])
        XCTAssertEqual(try store.newestValid().newest?.step, 2)
        XCTAssertEqual(try store.newestValid().skipped, [])

        try store.prune(keep: 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: deadWriter.path), "stale temporary of a dead writer removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: liveWriter.path), "a live writer's temporary is left alone")
        XCTAssertEqual(entries(store.directory).filter { !$0.hasPrefix(".tmp-") },
                       ["notes.txt", "step-000000010", "step-00000002", "step-00000008", "step-7"])
    }

    func testPruneKeepsExactlyTheNewestValidOnes() throws {
        for step in 1...5 { try store.write(step: step, files: files(seed: UInt8(step))) }
        try store.prune(keep: 2)
        XCTAssertEqual(try store.list().map(\.step), [4, 5])
        XCTAssertEqual(try CheckpointStore.read(path(5)), files(seed: 5))
        XCTAssertEqual(entries(store.directory), ["step-00000004", "step-00000005"])
    }

    func testPruneNeverDeletesNewestValidOrInvalidOnes() throws {
        for step in 1...5 { try store.write(step: step, files: files(seed: UInt8(step))) }
        try flipByte(path(5, "state.safetensors"))
        try FileManager.default.removeItem(at: path(4, "SHA256SUMS"))
        try flipByte(path(2, "model.safetensors"))
        // Valid: 1, 3. Invalid: 2, 4, 5 (kept as evidence, never counted as kept).
        try store.prune(keep: 1)
        XCTAssertEqual(try store.list().map(\.step), [2, 3, 4, 5])
        try store.prune(keep: 0)
        XCTAssertEqual(try store.list().map(\.step), [2, 3, 4, 5], "keep 0 still keeps the newest valid one")
        XCTAssertEqual(try store.newestValid().newest?.step, 3)
    }

    // MARK: - Failed writes

    func testWriteUnderARegularFileFailsCleanly() throws {
        let blocker = root.appendingPathComponent("blocker")
        try Data([1]).write(to: blocker)
        let broken = CheckpointStore(directory: blocker.appendingPathComponent("checkpoints"))
        XCTAssertThrowsError(try broken.write(step: 1, files: files(seed: 1))) { error in
            let text = "\(error)"
            XCTAssertTrue(error is UserError)
            XCTAssertTrue(text.contains(blocker.path), text)
            XCTAssertTrue(text.contains("Not a directory"), text)
        }
        XCTAssertEqual(try Data(contentsOf: blocker), Data([1]))
    }

    func testFailedWriteLeavesPreviousCheckpointAndNoTemporary() throws {
        try store.write(step: 1, files: files(seed: 1))
        // A regular file where step 2's directory must go: the final rename fails.
        try Data([9]).write(to: path(2))
        XCTAssertThrowsError(try store.write(step: 2, files: files(seed: 2))) { error in
            let text = "\(error)"
            XCTAssertTrue(error is UserError)
            XCTAssertTrue(text.contains("step-00000002"), text)
            XCTAssertTrue(text.contains("Not a directory"), text)
        }
        XCTAssertEqual(entries(store.directory), ["step-00000001", "step-00000002"], "no temporary left behind")
        XCTAssertEqual(try Data(contentsOf: path(2)), Data([9]))
        let newest = try XCTUnwrap(try store.newestValid().newest)
        XCTAssertEqual(newest.step, 1)
        XCTAssertEqual(newest.files, files(seed: 1))
    }

    func testStaleTemporaryOfOurOwnPidIsReplaced() throws {
        // A crashed earlier process with our pid (containers reuse pids) left a non-empty temporary.
        let stale = store.directory.appendingPathComponent(".tmp-step-00000003-\(getpid())")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data([1]).write(to: stale.appendingPathComponent("junk"))
        try store.write(step: 3, files: ["a": [1]])
        XCTAssertEqual(entries(store.directory), ["step-00000003"])
        XCTAssertEqual(try CheckpointStore.read(path(3)), ["a": [1]])
    }

    // MARK: - FileIO

    func testFileIOAtomicWriteAndRead() throws {
        let url = root.appendingPathComponent("config.yaml")
        try FileIO.writeAtomically([1, 2, 3], to: url)
        try FileIO.writeAtomically([4, 5], to: url)
        XCTAssertEqual(try FileIO.read(url), [4, 5])
        XCTAssertEqual(entries(root), ["config.yaml"], "no temporary left behind")
        XCTAssertThrowsError(try FileIO.read(root.appendingPathComponent("absent"))) { error in
            XCTAssertTrue("\(error)".contains("absent: No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try FileIO.read(root)) { error in XCTAssertTrue(error is UserError) }
        XCTAssertThrowsError(try FileIO.writeAtomically([1], to: url.appendingPathComponent("x"))) { error in
            XCTAssertTrue("\(error)".contains("Not a directory"), "\(error)")
        }
        XCTAssertNoThrow(try FileIO.syncDirectory(root))
    }

    // MARK: - The data digest in state.safetensors

    /// `data_digest` goes through encode and decode; a state without it (older checkpoints) reads
    /// as nil; one that is not hex, or of another length, is refused naming the key.
    func testDataDigestIsOptionalAndChecked() throws {
        var state = TrainingState()
        state.step = 4
        state.dataDigest = "b249202aaa92da23"
        let bytes = state.encode()
        XCTAssertEqual(try SafeTensors.decodeWithMetadata(bytes, source: "s").1["data_digest"], "b249202aaa92da23")
        XCTAssertEqual(try TrainingState.decode(bytes, source: "s").dataDigest, "b249202aaa92da23")
        XCTAssertEqual(try SafeTensors.decodeWithMetadata(bytes, source: "s").1["data_digest_of"], "token-files")
        XCTAssertFalse(try TrainingState.decode(bytes, source: "s").dataDigestIsLegacy)
        // An older rnntrain's digest (the ids as Int32) came without data_digest_of.
        var older = try SafeTensors.decodeWithMetadata(bytes, source: "s").1
        older["data_digest_of"] = nil
        XCTAssertTrue(try TrainingState.decode(SafeTensors.encode([], metadata: older), source: "s").dataDigestIsLegacy)
        older["data_digest_of"] = "int32"
        let unknown = thrownMessage { _ = try TrainingState.decode(SafeTensors.encode([], metadata: older), source: "state") }
        XCTAssertTrue(unknown.hasPrefix("state: metadata data_digest_of \"int32\""), unknown)
        state.dataDigest = nil
        let old = state.encode()
        XCTAssertNil(try SafeTensors.decodeWithMetadata(old, source: "s").1["data_digest"])
        XCTAssertNil(try TrainingState.decode(old, source: "s").dataDigest)
        XCTAssertEqual(try TrainingState.decode(old, source: "s").step, 4)
        for bad in ["b249202aaa92da2", "zz49202aaa92da23", "", String(repeating: "a", count: 66)] {
            var metadata = try SafeTensors.decodeWithMetadata(old, source: "s").1
            metadata["data_digest"] = bad
            let message = thrownMessage { _ = try TrainingState.decode(SafeTensors.encode([], metadata: metadata), source: "state") }
            XCTAssertTrue(message.hasPrefix("state: metadata data_digest"), "\(bad): \(message)")
        }
    }
}
