@testable import Checkpoints
import Collectives
@testable import Config
import ErrorAssertions
import Foundation
@testable import Runs
import TestSupport
import Training
import TrainingSupport
import XCTest

/// Resuming through `TrainingRun`: a run stopped and resumed ends bit-identical to one run
/// straight through; unsafe resumes are refused; a damaged checkpoint is skipped or named.
final class ResumeTests: XCTestCase {
    private var corpusPath = ""

    override func setUpWithError() throws {
        corpusPath = try TrainingTestFixtures.corpusFile(self)
    }

    /// Adam (moments to restore), 2-layer LSTM with dropout 0.3 (masks keyed by step), no
    /// clipping, validation every 2 steps (it runs the model between training steps).
    private func config(_ overrides: [String]) throws -> TrainingConfig {
        try TrainingTestFixtures.config(path: corpusPath, ["optimizer.type=adam", "optimizer.lr=0.01", "model.layers=2",
                                                           "model.dropout=0.3", "checkpoint.every=2",
                                                           "data.val_fraction=0.2", "log.eval_every=2"] + overrides)
    }

    private func runDirectory() throws -> URL {
        try temporaryDirectory(self, "run").appendingPathComponent("run")
    }

    @discardableResult
    private func train(_ directory: URL, resume: String?, _ overrides: [String]) throws -> TrainingRun {
        let run = try TrainingRun(config: try config(overrides), directory: directory, resume: resume,
                                  comm: SingleProcessCommunicator())
        try run.run()
        return run
    }

    private func checkpoint(_ directory: URL, step: Int) -> URL {
        directory.appendingPathComponent("checkpoints").appendingPathComponent(String(format: "step-%08d", step))
    }

    private func bytes(_ directory: URL, step: Int, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: checkpoint(directory, step: step).appendingPathComponent(name)))
    }

    /// Everything in state.safetensors but the wall-clock time, which legitimately differs.
    private func state(_ directory: URL, step: Int) throws -> TrainingState {
        var s = try TrainingState.decode(try bytes(directory, step: step, TrainingState.name), source: "state")
        s.elapsed = 0
        return s
    }

    private func assertResumeIsExact(_ mode: String, text: String? = nil, extra: [String] = [],
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        if let text { corpusPath = try TrainingTestFixtures.corpusFile(self, text) }
        let straight = try runDirectory(), split = try runDirectory()
        try train(straight, resume: nil, ["data.mode=\(mode)", "train.steps=6"] + extra)
        try train(split, resume: nil, ["data.mode=\(mode)", "train.steps=3"] + extra)
        let resumed = try TrainingRun(config: try config(["data.mode=\(mode)", "train.steps=6"] + extra), directory: split,
                                      resume: "auto", comm: SingleProcessCommunicator())
        XCTAssertEqual(resumed.trainer.step, 3, "resumed from the newest checkpoint", file: file, line: line)
        try resumed.run()

        let a = try bytes(straight, step: 6, "model.safetensors"), b = try bytes(split, step: 6, "model.safetensors")
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        XCTAssertTrue(a == b, "\(mode): model.safetensors after 6 steps differs between straight and resumed runs",
                      file: file, line: line)
        let sa = try state(straight, step: 6), sb = try state(split, step: 6)
        XCTAssertEqual(sa.step, 6, file: file, line: line)
        XCTAssertTrue(sa == sb, "\(mode): training state after 6 steps differs", file: file, line: line)
        // And training did something: step 6 differs from step 4 of the same run.
        XCTAssertFalse(a == (try bytes(straight, step: 4, "model.safetensors")), file: file, line: line)
    }

    func testStreamModeResumeIsBitIdentical() throws {
        try assertResumeIsExact("stream")
    }

    func testWindowsModeResumeIsBitIdentical() throws {
        try assertResumeIsExact("windows")
    }

    /// The MLP carries no hidden state (state width 0) but still resumes exactly.
    func testMLPStreamModeResumeIsBitIdentical() throws {
        try assertResumeIsExact("stream", extra: ["model.cell=mlp", "model.layers=1", "model.context=3"])
    }

    /// A 61-character text: 2 chunks per epoch in stream mode (states reset at steps 2 and 4),
    /// 1 step per epoch in windows mode (a new permutation and grid every step).
    func testResumeAcrossEpochBoundariesIsBitIdentical() throws {
        let text = String(TrainingTestFixtures.text.prefix(61))
        try assertResumeIsExact("stream", text: text)
        try assertResumeIsExact("windows", text: text)
    }

    func testDirectoryWithCheckpointsNeedsResume() throws {
        let directory = try runDirectory()
        try train(directory, resume: nil, ["train.steps=2"])
        let message = thrownMessage {
            _ = try TrainingRun(config: try self.config(["train.steps=4"]), directory: directory, resume: nil,
                                comm: SingleProcessCommunicator())
        }
        XCTAssertTrue(message.contains(directory.path), message)
        XCTAssertTrue(message.contains("resume"), message)
    }

    func testResumeWithChangedShapeIsRefusedNamingKeyAndConfig() throws {
        let directory = try runDirectory()
        try train(directory, resume: nil, ["train.steps=2"])
        for (key, value) in [("model.hidden", "12"), ("train.seq_len", "5")] {
            let message = thrownMessage {
                _ = try TrainingRun(config: try self.config(["train.steps=4", "\(key)=\(value)"]), directory: directory,
                                    resume: "auto", comm: SingleProcessCommunicator())
            }
            XCTAssertTrue(message.contains(key), message)
            XCTAssertTrue(message.contains("config.yaml"), message)
        }
        // Changing only the step count is allowed.
        let run = try TrainingRun(config: try config(["train.steps=4"]), directory: directory, resume: "auto",
                                  comm: SingleProcessCommunicator())
        XCTAssertEqual(run.trainer.step, 2)
    }

    /// Flips one byte near the end of a file (inside the tensor data).
    private func flipByte(_ url: URL) throws {
        var data = try Data(contentsOf: url)
        data[data.count - 3] ^= 0x40
        try data.write(to: url)
    }

    func testDamagedNewestCheckpointIsSkippedForThePreviousOne() throws {
        let directory = try runDirectory()
        try train(directory, resume: nil, ["train.steps=3", "checkpoint.every=1"])
        let original = try bytes(directory, step: 3, "model.safetensors")
        try flipByte(checkpoint(directory, step: 3).appendingPathComponent("model.safetensors"))

        let run = try TrainingRun(config: try config(["train.steps=3", "checkpoint.every=1"]), directory: directory,
                                  resume: "auto", comm: SingleProcessCommunicator())
        XCTAssertEqual(run.trainer.step, 2, "resumed from step 2, the newest valid checkpoint")
        let previous = try Checkpoint.load(checkpoint(directory, step: 2).path)
        XCTAssertEqual(run.trainer.model.parameters.array, previous.model.parameters.array)
        // Retraining step 3 from there gives back the checkpoint that was damaged.
        try run.run()
        XCTAssertTrue(try bytes(directory, step: 3, "model.safetensors") == original)
    }

    func testLoadingADamagedCheckpointNamesTheFile() throws {
        let directory = try runDirectory()
        try train(directory, resume: nil, ["train.steps=2"])
        let path = checkpoint(directory, step: 2)
        XCTAssertEqual(try Checkpoint.load(path.path).state.step, 2)
        try flipByte(path.appendingPathComponent("model.safetensors"))
        let message = thrownMessage { _ = try Checkpoint.load(path.path) }
        XCTAssertTrue(message.contains(path.appendingPathComponent("model.safetensors").path), message)
    }

    /// An older rnntrain recorded the SHA-256 of the ids as Int32, without `data_digest_of`: a
    /// resume hashes this run's tokens that way, continues when they match and refuses when not.
    func testAnOlderDataDigestIsCheckedTheOldWay() throws {
        let directory = try runDirectory()
        try train(directory, resume: nil, ["train.steps=2"])
        let corpus = try TrainingTestFixtures.corpus(try config(["train.steps=2"]))
        let ids = try corpus.train.all + corpus.validation.all
        let older = SHA256.hex(Array(ids.withUnsafeBytes { SHA256.hash($0) }.prefix(8)))
        func recordAsOlder(_ digest: String) throws {
            let url = checkpoint(directory, step: 2)
            var state = try TrainingState.decode(try bytes(directory, step: 2, TrainingState.name), source: "state")
            state.dataDigest = digest
            state.dataDigestIsLegacy = true
            var files = try CheckpointStore.read(url)
            files[TrainingState.name] = state.encode()
            XCTAssertNil(try SafeTensors.decodeWithMetadata(files[TrainingState.name]!, source: "state").1["data_digest_of"])
            for (name, content) in files { try Data(content).write(to: url.appendingPathComponent(name)) }
            try Data(CheckpointStore.manifest(of: files)).write(to: url.appendingPathComponent(CheckpointStore.manifestName))
        }
        try recordAsOlder(older)
        do {
            // In a scope of its own: the run holds the run directory's lock while it lives.
            let resumed = try TrainingRun(config: try config(["train.steps=3"]), directory: directory, resume: "auto",
                                          comm: SingleProcessCommunicator())
            XCTAssertEqual(resumed.trainer.step, 2)
        }
        try recordAsOlder("0123456789abcdef")
        let message = thrownMessage {
            _ = try TrainingRun(config: try config(["train.steps=3"]), directory: directory, resume: "auto",
                                comm: SingleProcessCommunicator())
        }
        XCTAssertTrue(message.contains("trained on other data") && message.contains("digest 0123456789abcdef")
                      && message.contains("digest \(older)"), message)
    }
}
