import Foundation
import XCTest

/// `rnntrain export` as a user runs it: what it prints and writes, and bad input. The graph's
/// contents are ONNXExportTests'; that ONNX Runtime computes the model from it, launch/stages/onnx's.
final class ExportCommandTests: XCTestCase {
    private func trained() throws -> (dir: URL, checkpoint: URL) {
        let dir = try scratchDirectory(self)
        let data = try write(ownText(characters: 2_000), to: dir.appendingPathComponent("text.txt"))
        let r = try train(tinyConfig(data: data), in: dir, runDir: dir.appendingPathComponent("run"))
        XCTAssertEqual(r.status, 0, r.stderr)
        return (dir, dir.appendingPathComponent("run/checkpoints/step-00000006"))
    }

    func testWritesOneFileAndSaysWhatItWrote() throws {
        let (dir, checkpoint) = try trained()
        for (flags, steps) in [([String](), "8"), (["--steps-dynamic"], "\"dynamic\"")] {
            let out = dir.appendingPathComponent("out")
            try? FileManager.default.removeItem(at: out)
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            let onnx = out.appendingPathComponent("model.onnx")
            let r = try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", onnx.path] + flags)
            XCTAssertEqual(r.status, 0, r.stderr)
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: onnx.path)[.size] as? Int)
            XCTAssertEqual(r.stdout, "{\"onnx\": \"\(onnx.path)\", \"opset\": 17, \"bytes\": \(size), \"steps\": \(steps)}\n")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["model.onnx"], "no temporary file left")
        }
    }

    func testBadInputIsOneLineAndWritesNothing() throws {
        let (dir, checkpoint) = try trained()
        let missing = dir.appendingPathComponent("no-such-checkpoint")
        let out = dir.appendingPathComponent("model.onnx")
        assertBadInput(try Tool.rnntrain(["export", "--checkpoint", missing.path, "--onnx", out.path]),
                       mentions: [missing.path], "a missing checkpoint")
        let noDirectory = dir.appendingPathComponent("absent/model.onnx")
        assertBadInput(try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", noDirectory.path]),
                       mentions: [noDirectory.path], "an output in a missing directory")
        let aDirectory = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: aDirectory, withIntermediateDirectories: false)
        assertBadInput(try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", aDirectory.path]),
                       mentions: [aDirectory.path], "an output that is a directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: aDirectory.path), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        let model = checkpoint.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: model)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: model)
        assertBadInput(try Tool.rnntrain(["export", "--checkpoint", checkpoint.path, "--onnx", out.path]),
                       mentions: ["model.safetensors"], "a damaged checkpoint")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("onnx") }
        XCTAssertEqual(leftovers, [], "no temporary file left")
    }
}
