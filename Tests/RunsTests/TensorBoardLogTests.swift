import Collectives
import Files
import Foundation
@testable import Runs
@testable import TensorBoard
import TestSupport
@testable import Training
import TrainingSupport
import XCTest

/// `log.tensorboard` through `TrainingRun`: the event file holds every number of every
/// metrics.jsonl record under its tag at the record's step, and each session writes a file of its
/// own that starts at the session's first step. (launch/stages/tensorboard reads the same files
/// with TensorBoard itself.)
final class TensorBoardLogTests: XCTestCase {
    private var corpusPath = ""
    private var directory: URL!

    override func setUpWithError() throws {
        corpusPath = try TrainingTestFixtures.corpusFile(self)
        directory = try temporaryDirectory(self, "run").appendingPathComponent("run")
    }

    private func train(steps: Int, resume: String?) throws {
        let config = try TrainingTestFixtures.config(path: corpusPath, ["train.steps=\(steps)", "log.every=1", "log.eval_every=2",
                                                                        "data.val_fraction=0.2", "checkpoint.every=2",
                                                                        "log.tensorboard=true"])
        try TrainingRun(config: config, directory: directory, resume: resume, comm: SingleProcessCommunicator()).run()
    }

    /// metrics.jsonl's records, as JSONSerialization reads them.
    private func metrics() throws -> [[String: Any]] {
        let text = String(decoding: try FileIO.read(directory.appendingPathComponent("metrics.jsonl")), as: UTF8.self)
        return try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// The event files of `tb/` in name order, each as its events (the framing is TFRecordTests' concern).
    private func eventFiles() throws -> [[Tensorboard_Event]] {
        let tb = directory.appendingPathComponent("tb")
        return try FileIO.names(in: tb).sorted().map { name in
            let bytes = try FileIO.read(tb.appendingPathComponent(name))
            var events: [Tensorboard_Event] = []
            var at = 0
            while at < bytes.count {
                let length = bytes[at..<at + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
                events.append(try Tensorboard_Event(serializedBytes: Array(bytes[at + 12..<at + 12 + length])))
                at += 16 + length
            }
            return events
        }
    }

    func testEveryNumberOfEveryRecordIsAScalarAtItsStep() throws {
        try train(steps: 4, resume: nil)
        let files = try eventFiles()
        XCTAssertEqual(files.count, 1)
        let events = try XCTUnwrap(files.first)
        XCTAssertEqual(events.first?.fileVersion, "brain.Event:2")
        XCTAssertEqual(events.dropFirst().first?.sessionLog.status, .start)
        XCTAssertEqual(events.dropFirst().first?.step, 1)
        let records = try metrics()
        let summaries = Array(events.dropFirst(2))
        XCTAssertEqual(summaries.map(\.step), records.map { Int64(($0["step"] as! NSNumber).intValue) })
        for (event, record) in zip(summaries, records) {
            var expected: [String: Float] = [:]
            for (key, value) in record where key != "step" {
                let tag = try XCTUnwrap(TensorBoardLog.tags[key], "metrics key \(key) has no tag")
                expected[tag] = value is NSNull ? .nan : Float(try XCTUnwrap(value as? NSNumber, key).doubleValue)
            }
            let got = Dictionary(uniqueKeysWithValues: event.summary.value.map { ($0.tag, $0.simpleValue) })
            XCTAssertEqual(got.keys.sorted(), expected.keys.sorted(), "step \(event.step)")
            for (tag, value) in expected {
                let same = value.isNaN ? got[tag]?.isNaN == true : got[tag] == value
                XCTAssertTrue(same, "step \(event.step) \(tag): \(String(describing: got[tag])), metrics.jsonl \(value)")
            }
        }
        XCTAssertTrue(records.contains { $0["val_loss"] != nil }, "no validation record: the test misses val_loss")
    }

    /// Tags are unique and end in their metrics key, the form docs/onnx-and-tensorboard.md documents.
    func testTagsNameTheirKeys() {
        XCTAssertEqual(Set(TensorBoardLog.tags.values).count, TensorBoardLog.tags.count)
        for (key, tag) in TensorBoardLog.tags { XCTAssertTrue(tag.hasSuffix("/" + key), tag) }
    }

    /// The resumed session appends a second file, which starts at the step after its checkpoint,
    /// and the first file is left as it was.
    func testAResumedSessionWritesANewFileFromItsFirstStep() throws {
        try train(steps: 4, resume: nil)
        let before = try eventFiles()
        try train(steps: 6, resume: "auto")
        let after = try eventFiles()
        XCTAssertEqual(after.count, 2)
        XCTAssertEqual(after.first, before.first)
        let second = try XCTUnwrap(after.last)
        XCTAssertEqual(second.dropFirst().first?.sessionLog.status, .start)
        XCTAssertEqual(second.dropFirst().first?.step, 5)
        XCTAssertEqual(second.dropFirst(2).map(\.step), [5, 6])
    }
}
