import Training
import TrainingSupport
import XCTest

/// Deterministic mode sums the gradient in fixed point, range by range as backward finishes
/// them; bit-identity across world sizes cannot show that every range was summed (a range left
/// out is left out alike everywhere), so its trajectory is held to the default mode's here.
final class DeterministicModeTests: XCTestCase {
    func testTrajectoryMatchesTheDefaultMode() throws {
        let models = [["model.layers=2"],
                      ["model.cell=gru", "model.bidirectional=true", "data.mode=windows", "data.task=fill-in-the-middle"],
                      ["model.cell=mlp", "model.context=3", "data.mode=windows"],
                      ["model.layers=2", "model.embedding=8", "model.tie_weights=true", "model.dropout=0.2"]]
        for model in models {
            for group in [1, 2] {
                let overrides = model + ["train.global_batch=4", "train.deterministic_group=\(group)"]
                let plain = try TrainingTestFixtures.trainer(self, overrides)
                let fixed = try TrainingTestFixtures.trainer(self, overrides + ["train.deterministic=true"])
                for _ in 0..<3 {
                    let a = try plain.trainStep(), b = try fixed.trainStep()
                    XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * a.loss, "\(overrides)")
                }
                let p = plain.model.parameters, q = fixed.model.parameters
                let worst = (0..<p.count).map { abs(p[$0] - q[$0]) }.max() ?? .nan
                XCTAssertLessThanOrEqual(worst, 1e-5, "\(overrides): largest parameter difference after 3 steps")
            }
        }
    }
}
