import Foundation
import ModelSpec
import XCTest

/// `GRUVariant.resetBeforeMatmul` was called `notes`; its config string still is, so configs,
/// checkpoints' config.yaml and safetensors `__metadata__` written before the rename read the
/// same, and what is written now is byte for byte what was written then.
final class GRUVariantTests: XCTestCase {
    func testResetBeforeMatmulIsStillWrittenAndReadAsNotes() throws {
        XCTAssertEqual(GRUVariant.resetBeforeMatmul.rawValue, "notes")
        XCTAssertEqual(GRUVariant(rawValue: "notes"), .resetBeforeMatmul)
        XCTAssertEqual(GRUVariant.allCases.map(\.rawValue), ["notes", "linear-before-reset"])
        var config = ModelConfig()
        config.architecture = .recurrent(.gru)
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        XCTAssertTrue(json.contains("\"gruVariant\":\"notes\""), json)
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)).gruVariant, .resetBeforeMatmul)
    }
}
