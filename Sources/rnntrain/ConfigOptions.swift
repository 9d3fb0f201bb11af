import ArgumentParser
import Checkpoints
import Collectives
import Config

/// `--config FILE` and `--set section.key=value`, shared by the commands that read a YAML config.
struct ConfigOptions: ParsableArguments {
    @Option(help: "The YAML config.")
    var config: String

    @Option(name: .customLong("set"), parsing: .unconditionalSingleValue, help: "Override one option, section.key=value (repeatable).")
    var overrides: [String] = []

    /// The config file with every override applied, its cell a registered one.
    func load() throws -> TrainingConfig {
        let settings = try TrainingConfig.load(path: config, overrides: overrides)
        try settings.requireRegisteredCell(source: config)
        return settings
    }

    /// The config every rank loaded, agreed on. `comm.timeout` is set from this rank's own load
    /// before the agreement's collective: a rank that stops before it joins ends the job within
    /// train.step_timeout (its default when the config does not load), never hangs it.
    func agreedSettings(_ comm: Communicator) throws -> TrainingConfig {
        let loaded = Result { try load() }
        comm.timeout = (try? loaded.get())?.train.stepTimeout ?? TrainConfig().stepTimeout
        return try agree(comm) { try loaded.get() }
    }
}
