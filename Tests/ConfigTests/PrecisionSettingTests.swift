@testable import Config
import Files
import XCTest

/// `train.precision`: read and refused like every choice, free to change on resume (agreed on by
/// every rank and handed to the trainer's model: TrainerPrecisionTests; to a checkpoint's model:
/// CheckpointPrecisionTests).
final class PrecisionSettingTests: XCTestCase {
    private func parse(_ yaml: String, _ overrides: [String] = []) throws -> TrainingConfig {
        try TrainingConfig.parse(yaml: yaml, source: "config.yaml", overrides: overrides)
    }

    func testBothValuesParseFromFileAndOverride() throws {
        XCTAssertEqual(try parse("").train.precision, .fp32)
        XCTAssertEqual(try parse("train:\n  precision: bf16\n").train.precision, .bf16)
        XCTAssertEqual(try parse("train:\n  precision: bf16\n", ["train.precision=fp32"]).train.precision, .fp32)
        var config = TrainingConfig()
        config.train.precision = .bf16
        XCTAssertEqual(try parse(config.yaml()), config, "yaml() writes the precision back")
    }

    func testAnUnknownValueNamesTheKeyAndTheChoices() {
        for (yaml, overrides) in [("train:\n  precision: fp16\n", []), ("", ["train.precision=FP32"]), ("train:\n  precision: 16\n", [])] {
            do {
                _ = try parse(yaml, overrides)
                XCTFail("accepted \(yaml)\(overrides)")
            } catch let error as UserError {
                XCTAssertTrue(error.description.contains("train.precision"), error.description)
                XCTAssertTrue(error.description.contains("expected one of fp32, bf16"), error.description)
                XCTAssertFalse(error.description.contains("\n"), "more than one line: \(error.description)")
            } catch {
                XCTFail("expected a UserError, got \(error)")
            }
        }
    }

    func testAResumeMayChangeThePrecisionButNotTheModel() throws {
        let saved = TrainingConfig()
        var current = saved
        current.train.precision = .bf16
        XCTAssertNoThrow(try ConfigCompatibility.check(saved: saved, current: current, source: "ckpt"))
        current.model.hidden += 1
        XCTAssertThrowsError(try ConfigCompatibility.check(saved: saved, current: current, source: "ckpt"))
    }
}
