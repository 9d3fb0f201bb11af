import ArgumentParser
import Collectives
import Config
import Foundation
import Training

/// `rnntrain train`: train from a YAML config into a run directory.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config.")

    @Option(help: "The YAML config.")
    var config: String

    @Option(name: .customLong("set"), help: "Override one option, section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Run directory (default: runs/<config name>).")
    var runDir: String?

    @Option(help: "auto (the newest valid checkpoint of the run directory) or a checkpoint directory.")
    var resume: String?

    @OptionGroup var world: WorldOptions

    func run() throws {
        let name = URL(fileURLWithPath: config).deletingPathExtension().lastPathComponent
        let directory = URL(fileURLWithPath: runDir ?? "runs/\(name)")
        StopSignals.install()
        try world.run { comm in
            let settings = try agree(comm) { try TrainingConfig.load(path: config, overrides: overrides) }
            let run = try TrainingRun(config: settings, directory: directory, resume: resume, comm: comm)
            try run.run()
        }
    }
}
