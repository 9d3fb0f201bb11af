import ArgumentParser
import Config
import Files
import Training

/// `rnntrain config`: the resolved config, the YAML `train` writes into the run directory, for
/// scripts that must know it before a run starts (launch/elastic's world size).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Print the resolved config (the file with every --set applied) as train writes it into the run directory.")

    @OptionGroup var configFile: ConfigOptions

    func run() throws {
        try StandardOutput.write(configFile.load().yaml())
    }
}
