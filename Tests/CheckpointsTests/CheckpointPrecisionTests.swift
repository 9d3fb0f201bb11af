import Checkpoints
import Foundation
import XCTest

/// `train.precision` handed to the model a checkpoint builds.
final class CheckpointPrecisionTests: XCTestCase {
    /// The fixture was written before train.precision existed: fp32 by default, either on request,
    /// the same weights both ways.
    func testACheckpointLoadsInEitherPrecision() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/checkpoint-v1/step-00000006").path
        let saved = try Checkpoint.load(path)
        XCTAssertEqual(saved.model.precision, .fp32)
        let bf16 = try Checkpoint.load(path, precision: .bf16)
        XCTAssertEqual(bf16.model.precision, .bf16)
        XCTAssertEqual(bf16.config.train.precision, .fp32, "the override does not rewrite the saved config")
        XCTAssertEqual(bf16.model.parameters.array.map(\.bitPattern), saved.model.parameters.array.map(\.bitPattern))
    }
}
