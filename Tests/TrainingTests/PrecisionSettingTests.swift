import Checkpoints
import Collectives
@testable import Config
import Files
import Foundation
import Kernels
@testable import Training
import XCTest

/// `train.precision`: read and refused like every choice, free to change on resume, agreed on by
/// every rank, and handed to each model the trainer or a checkpoint builds.
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

    func testRanksMustAgreeOnThePrecision() throws {
        var config = TrainingConfig()
        let corpus = try TrainingTestFixtures.corpus(try TrainingTestFixtures.config(path: try TrainingTestFixtures.corpusFile(self)))
        let fp32 = try SettingsAgreement.fingerprint(config: config, corpus: corpus)
        config.train.precision = .bf16
        let bf16 = try SettingsAgreement.fingerprint(config: config, corpus: corpus)
        XCTAssertEqual(fp32["train.precision"], "fp32")
        XCTAssertEqual(bf16["train.precision"], "bf16")
    }

    func testTheTrainersModelComputesInTheConfiguredPrecision() throws {
        XCTAssertEqual(try TrainingTestFixtures.trainer(self).model.precision, .fp32)
        XCTAssertEqual(try TrainingTestFixtures.trainer(self, ["train.precision=bf16"]).model.precision, .bf16)
    }

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
        XCTAssertEqual(TrainingTestFixtures.bits(bf16.model.parameters), TrainingTestFixtures.bits(saved.model.parameters))
    }
}
