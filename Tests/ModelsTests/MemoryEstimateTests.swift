import ModelSpec
import Models
import Kernels
import XCTest

/// The estimate made from the config alone must equal the arena a model really allocates, for
/// every cell, depth, direction and dropout setting, and for Float and Double.
final class MemoryEstimateTests: XCTestCase {
    func testActivationEstimateEqualsTheAllocatedArena() throws {
        var configs: [ModelConfig] = []
        for cell in CellRegistry.forms {
            for layers in [1, 3] {
                for bidirectional in [false, true] {
                    for dropout in [0, 0.25] {
                        configs.append(makeConfig(cell, layers: layers, bidirectional: bidirectional, vocabulary: 7,
                                                  embedding: 5, hidden: 6, dropout: dropout))
                    }
                }
            }
        }
        configs += [makeMLPConfig(), makeMLPConfig(dropout: 0.5), makeMLPConfig(embedding: 9, hidden: 2, context: 4)]
        var fixture = Fixture(seed: 3)
        for config in configs {
            for (steps, sequences) in [(1, 1), (4, 3)] {
                var batch = fixture.batch(config, steps: steps, sequences: sequences, history: config.isWindowedMLP)
                batch.history = config.isWindowedMLP ? batch.history : nil
                let float = try Model<Float>(config: config, seed: 1)
                _ = try float.train(batch)
                let double = try Model<Double>(config: config, seed: 1)
                _ = try double.train(batch)
                let what = "\(config.architecture) \(config.layers)×\(config.hidden) bi \(config.bidirectional) dropout \(config.dropout) τ \(steps) n \(sequences)"
                XCTAssertEqual(MemoryEstimate.activationBytes(config: config, steps: steps, sequences: sequences, scalarBytes: 4),
                               Double(float.workspaceBytes), what)
                XCTAssertEqual(MemoryEstimate.activationBytes(config: config, steps: steps, sequences: sequences, scalarBytes: 8),
                               Double(double.workspaceBytes), what)
            }
        }
    }

    /// hidden 60000 × 200 layers passes `validate` but needs tebibytes: the estimate must come out
    /// finite and huge without overflowing an Int or allocating anything.
    func testAHugeConfigIsEstimatedWithoutOverflow() {
        var config = makeConfig(.lstm, layers: 200, bidirectional: true, vocabulary: 1 << 20, embedding: 1 << 16, hidden: 60000)
        config.dropout = 0.5
        XCTAssertNoThrow(try config.validate())
        let bytes = MemoryEstimate.activationBytes(config: config, steps: 1 << 16, sequences: 1 << 16, scalarBytes: 4)
        XCTAssertTrue(bytes.isFinite)
        XCTAssertGreaterThan(bytes, 1e18, "τ·n = 2^32 rows of 60000-wide activations in 400 directions")
    }
}
