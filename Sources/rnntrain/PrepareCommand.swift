import ArgumentParser
import Config
import Files
import Foundation
import PreparedData

/// `rnntrain prepare`: tokenizes the config's corpus once into a prepared dataset directory
/// (`PreparedDataset`), in bounded memory; `data.path` naming that directory then trains from it
/// memory-mapped. One process: the work is not yet split over ranks.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize the config's corpus once into a prepared dataset directory, which data.path can then name.")

    @Option(help: "The YAML config (its data section: path, val_path or val_fraction, tokenizer, task).")
    var config: String

    @Option(name: .customLong("set"), parsing: .unconditionalSingleValue, help: "Override one option, section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "The dataset directory to create; it must not exist.")
    var out: String

    func validate() throws {
        if out.isEmpty { throw ValidationError("--out is empty; name a directory") }
    }

    func run() throws {
        let settings = try TrainingConfig.load(path: config, overrides: overrides)
        let summary = try DatasetPreparation.prepare(data: settings.data, withMask: settings.data.task == .fillInTheMiddle,
                                                     out: URL(fileURLWithPath: out))
        let megabytes = Double(summary.textBytes) / 1e6
        try StandardOutput.line("prepared \(out): \(summary.trainTokens) training and \(summary.validationTokens) validation tokens "
            + "of \(summary.vocabularySize), \(summary.width) byte\(summary.width == 1 ? "" : "s") each, from "
            + String(format: "%.1f MB of text in %.2f s (%.0f MB/s)", megabytes, summary.seconds, megabytes / max(summary.seconds, 1e-9)))
    }
}
