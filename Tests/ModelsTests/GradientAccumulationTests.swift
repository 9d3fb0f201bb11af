import Models
import Kernels
import TestSupport
import XCTest

/// Backward adds into `gradients` (micro-batches accumulate) and only `zeroGradients` clears them.
final class GradientAccumulationTests: XCTestCase {
    func testTrainingTwiceDoublesTheGradient() throws {
        let configs = CellRegistry.forms.map { makeConfig($0, layers: 2, bidirectional: true) }
            + [makeMLPConfig()]
        for config in configs {
            let model = try Model<Double>(config: config, seed: 11)
            var fixture = Fixture(seed: 12)
            let batch = fixture.batch(config, steps: 3, sequences: 2, masked: true, history: config.isWindowedMLP)
            let state = Buffer<Double>(doubles: fixture.values(2 * model.stateLayout.width))
            let label = "\(config.architecture) \(config.gruVariant)"

            model.zeroGradients()
            let loss = try model.train(batch, initialState: state)
            let once = model.gradients.doubles
            XCTAssertTrue(once.contains { $0 != 0 }, "\(label) no gradient")
            let evaluated = try model.evaluate(batch, initialState: state)
            XCTAssertEqual(loss.loss, evaluated.loss, accuracy: 1e-13 * abs(evaluated.loss), "\(label) train loss = evaluate loss")

            _ = try model.train(batch, initialState: state)
            assertClose(model.gradients.doubles, once.map { 2 * $0 }, absolute: 1e-14, relative: 1e-14, "\(label) twice")

            model.zeroGradients()
            XCTAssertTrue(model.gradients.doubles.allSatisfy { $0 == 0 }, "\(label) zeroGradients")
            _ = try model.train(batch, initialState: state)
            assertClose(model.gradients.doubles, once, absolute: 1e-15, relative: 1e-15, "\(label) after zeroing")
        }
    }
}
