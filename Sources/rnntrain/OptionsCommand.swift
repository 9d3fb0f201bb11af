import ArgumentParser
import Config
import Files
import Models
import Training

/// `rnntrain options`: the config table, from the one place options are defined.
struct OptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "options", abstract: "List every config option with its default and meaning (Markdown).")

    func run() throws {
        let cells = CellRegistry.cells.map(\.rawValue).joined(separator: ", ")
        try StandardOutput.write(TrainingConfig.markdownTable() + "\nThe registered recurrent cells (`model.cell`): \(cells).\n")
    }
}
