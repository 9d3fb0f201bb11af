import ModelSpec
import Models
import XCTest

/// The limits a model file's config is held to (HostileInputTests) hold for a model built directly.
final class ModelLimitsTests: XCTestCase {
    func testModelLimitsHoldForModelsBuiltDirectly() {
        var config = ModelConfig()
        config.vocabulary = 4
        config.hidden = 1 << 40
        XCTAssertThrowsError(try Model<Float>(config: config)) { error in
            XCTAssertEqual(error as? ModelError, .invalidConfig(key: "model.hidden", reason: "must be at most 65536, got 1099511627776"))
        }
        config.hidden = 3
        config.vocabulary = ModelConfig.Limit.vocabulary + 1
        XCTAssertThrowsError(try Model<Float>(config: config))
    }
}
