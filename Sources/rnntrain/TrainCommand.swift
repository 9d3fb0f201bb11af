import ArgumentParser
import Collectives
import Config
import Foundation
import Runs
import Training

/// `rnntrain train`: train from a YAML config into a run directory.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config.")

    @OptionGroup var configFile: ConfigOptions

    @Option(help: "Run directory (default: runs/<config name>).")
    var runDir: String?

    @Option(help: "auto (the newest valid checkpoint of the run directory) or a checkpoint directory.")
    var resume: String?

    @Flag(help: "With --resume auto: when checkpoints exist but none is valid, start at step 0 instead of refusing.")
    var freshIfInvalid = false

    @Flag(help: "With --resume: continue a checkpoint trained on other data (another corpus digest) on this config's data.")
    var allowOtherData = false

    @OptionGroup var world: WorldOptions

    func validate() throws {
        // URL(fileURLWithPath: "") is the current directory: an empty path would train there.
        if runDir?.isEmpty == true { throw ValidationError("--run-dir is empty; name a directory") }
        if freshIfInvalid && resume != "auto" {
            throw ValidationError("--fresh-if-invalid needs --resume auto")
        }
        if allowOtherData && resume == nil {
            throw ValidationError("--allow-other-data needs --resume")
        }
    }

    func run() throws {
        let name = URL(fileURLWithPath: configFile.config).deletingPathExtension().lastPathComponent
        let directory = URL(fileURLWithPath: runDir ?? "runs/\(name)")
        StopSignals.install()
        try world.run { comm in
            let settings = try configFile.agreedSettings(comm)
            let run = try TrainingRun(config: settings, directory: directory, resume: resume,
                                      policy: ResumePolicy(freshIfInvalid: freshIfInvalid, allowOtherData: allowOtherData), comm: comm)
            try run.run()
        }
    }
}
