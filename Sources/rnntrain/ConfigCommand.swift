import ArgumentParser
import Config
import Files
import Training

/// `rnntrain config`: the resolved config, the YAML `train` writes into the run directory, for
/// scripts that must know it before a run starts (launch/elastic's world size).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Print the resolved config (the file with every --set applied) as train writes it into the run directory.")

    @Option(help: "The YAML config.")
    var config: String

    @Option(name: .customLong("set"), parsing: .unconditionalSingleValue, help: "Override one option, section.key=value (repeatable).")
    var overrides: [String] = []

    func run() throws {
        try StandardOutput.write(TrainingConfig.load(path: config, overrides: overrides).yaml())
    }
}
