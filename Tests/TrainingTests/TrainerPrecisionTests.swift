@testable import Config
import Foundation
@testable import Runs
@testable import Training
import TrainingSupport
import XCTest

/// `train.precision`: agreed on by every rank, and handed to the model the trainer builds.
final class TrainerPrecisionTests: XCTestCase {
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
}
