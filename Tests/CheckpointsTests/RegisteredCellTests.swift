import Checkpoints
import Config
import ErrorAssertions
import ModelSpec
import Models
import XCTest

/// `model.cell` is read by its form in Config and checked against the cells' own declarations
/// (`CellRegistry`) where a config enters from a file.
final class RegisteredCellTests: XCTestCase {
    private func config(cell: String) throws -> TrainingConfig {
        try TrainingConfig.parse(yaml: "model:\n  cell: \(cell)\n  layers: 1\n", source: "c.yaml")
    }

    func testEveryDeclaredCellAndTheMLPAreAccepted() throws {
        let declared = Set(CellRegistry.forms.map(\.cell.rawValue))
        XCTAssertTrue(declared.isSuperset(of: ["rnn", "lstm", "gru", "mgu"]), "\(declared)")
        for name in declared.sorted() + ["mlp"] {
            XCTAssertNoThrow(try config(cell: name).requireRegisteredCell(source: "c.yaml"), name)
        }
    }

    func testANameNoCellDeclaresIsRefusedNamingTheFileTheKeyAndEveryChoice() throws {
        let loaded = try config(cell: "transformer")
        let choices = CellRegistry.forms.map(\.cell.rawValue).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } + ["mlp"]
        assertUserError(try loaded.requireRegisteredCell(source: "c.yaml"),
                        mentions: ["c.yaml: model.cell: ", choices.joined(separator: ", "), "\"transformer\""])
    }

    /// A checkpoint's config.yaml is someone else's file: an unknown cell in it is refused there.
    func testACheckpointConfigNamingNoCellIsRefused() throws {
        let bytes = Array("model:\n  cell: transformer\n  layers: 1\n".utf8)
        assertUserError(try Checkpoint.parseConfig(bytes, source: "ckpt/config.yaml"),
                        mentions: ["ckpt/config.yaml", "not a config this rnntrain reads", "model.cell", "transformer"])
    }
}
