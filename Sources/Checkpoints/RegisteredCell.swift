import Config
import Files
import ModelSpec
import Models

extension TrainingConfig {
    /// Refuses a config read from `source` whose `model.cell` no registered cell declares, in the
    /// form of Config's other errors (`source: model.cell: expected one of …`). Config checks a
    /// cell's name by its form only, since the cells are Models' to declare: every path by which a
    /// config enters from a file (a user's config, a checkpoint's config.yaml) calls this.
    public func requireRegisteredCell(source: String) throws {
        do {
            try CellRegistry.check(model)
        } catch let ModelError.invalidConfig(key, reason) {
            throw UserError("\(Self.shown(source)): \(key): \(reason)")
        }
    }
}
