import Foundation
import XCTest

/// Files written before a change still load: Tests/Fixtures/checkpoint-v1 was made by an earlier
/// rnntrain (launch/maintainer/make-compat-fixture, at the commit that added it) together with what that
/// rnntrain computed from it. The current tool must read the checkpoint, score the text to the
/// same loss bit for bit, and resume from step 6 to exactly the step-12 files of the old,
/// uninterrupted run. With one OpenBLAS thread and its generic Prescott kernels, as the fixture was
/// made: a threaded GEMM, or another CPU's kernels, sum in another order, and the bits would then
/// say more about the BLAS than about rnntrain.
final class CompatibilityTests: XCTestCase {
    let fixture = Tool.root.appendingPathComponent("Tests/Fixtures/checkpoint-v1")
    let blas = ["OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Prescott"]

    /// The fixture copied into a scratch directory, so a run never writes into the checkout.
    func copyOfFixture() throws -> URL {
        let dir = try scratchDirectory(self).appendingPathComponent("fixture")
        try FileManager.default.copyItem(at: fixture, to: dir)
        return dir
    }

    /// `name` → hex SHA-256, as the fixture script recorded them.
    func recordedDigests() throws -> [String: String] {
        let text = try String(contentsOf: fixture.appendingPathComponent("step-00000012.sha256"), encoding: .utf8)
        var digests: [String: String] = [:]
        for line in lines(text) {
            let parts = line.split(separator: " ")
            XCTAssertEqual(parts.count, 2, "malformed line \(line)")
            if parts.count == 2 { digests[String(parts[0])] = String(parts[1]) }
        }
        return digests
    }

    /// SHA-256 by coreutils' sha256sum: a digest computed outside the tool under test.
    func sha256(_ bytes: [UInt8]) throws -> String {
        let dir = try scratchDirectory(self, "digest")
        let file = try write(bytes: bytes, to: dir.appendingPathComponent("bytes"))
        let r = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), [file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return String(r.stdout.prefix(64))
    }

    func testOldCheckpointEvaluatesToTheRecordedLossBitForBit() throws {
        let dir = try copyOfFixture()
        let recorded = try XCTUnwrap(jsonObject(try String(contentsOf: fixture.appendingPathComponent("eval.json"),
                                                                  encoding: .utf8)))
        let r = try Tool.rnntrain(["eval", "--checkpoint", dir.appendingPathComponent("step-00000006").path,
                                   "--data", dir.appendingPathComponent("text.txt").path], environment: blas)
        XCTAssertEqual(r.status, 0, r.stderr)
        let now = try XCTUnwrap(jsonObject(r.stdout), "eval printed \(r.stdout)")
        let old = try XCTUnwrap(number(recorded["loss"])), new = try XCTUnwrap(number(now["loss"]))
        XCTAssertEqual(new.bitPattern, old.bitPattern, "loss \(new), recorded \(old)")
        XCTAssertEqual(number(now["tokens"]), number(recorded["tokens"]))
    }

    func testOldCheckpointResumesToTheUninterruptedRunBitForBit() throws {
        let dir = try copyOfFixture()
        let runDir = dir.appendingPathComponent("resumed")
        let r = try Tool.rnntrain(["train", "--config", "config.yaml", "--run-dir", runDir.path, "--comm", "single",
                                   "--resume", dir.appendingPathComponent("step-00000006").path],
                                  environment: blas, directory: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        // It predates the record of kernels: unknown, accepted with a warning.
        XCTAssertTrue(r.stderr.contains("warning: \(dir.path)/step-00000006 predates kernel records"), r.stderr)
        let final = runDir.appendingPathComponent("checkpoints/step-00000012")
        let digests = try recordedDigests()
        let model = [UInt8](try Data(contentsOf: final.appendingPathComponent("model.safetensors")))
        XCTAssertEqual(try sha256(model), digests["model.safetensors"], "model.safetensors after the resume")
        let state = try SafetensorsFile(url: final.appendingPathComponent("state.safetensors"))
        XCTAssertEqual(state.metadata["step"], "12")
        let tensors = Array(state.bytes[(8 + state.headerLength)...])
        XCTAssertEqual(try sha256(tensors), digests["state.safetensors-tensors"], "optimizer moments and carried states")
    }
}
