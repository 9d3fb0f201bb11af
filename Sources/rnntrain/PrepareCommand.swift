import ArgumentParser
import Collectives
import Config
import Files
import Foundation
import PreparedData
import Training

/// `rnntrain prepare`: tokenizes the config's corpus once into a prepared dataset directory
/// (`PreparedDataset`), in bounded memory; `data.path` naming that directory then trains from it
/// memory-mapped. Under mpirun the ranks split the text by byte ranges (`DatasetPreparation`);
/// the dataset is the same bytes at every world size.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize the config's corpus once into a prepared dataset directory, which data.path can then name.")

    @OptionGroup var configFile: ConfigOptions

    @Option(help: "The dataset directory to create; it must not exist.")
    var out: String

    @OptionGroup var world: WorldOptions

    func validate() throws {
        if out.isEmpty { throw ValidationError("--out is empty; name a directory") }
    }

    func run() throws {
        // Ctrl-C or SIGTERM stops the preparation within a piece, its partial files removed.
        StopSignals.install()
        try world.run { comm in
            let settings = try configFile.agreedSettings(comm)
            let summary = try DatasetPreparation.prepare(data: settings.data, withMask: settings.data.task == .fillInTheMiddle,
                                                         out: URL(fileURLWithPath: out), comm: comm, stopped: { StopSignals.stop })
            guard comm.isRoot else { return }
            let megabytes = Double(summary.textBytes) / 1e6
            var rates = String(format: "%.0f MB/s", megabytes / max(summary.seconds, 1e-9))
            if comm.size > 1 {
                rates += "; ranks: " + summary.rankRates.map { String(format: "%.0f", $0 / 1e6) }.joined(separator: ", ") + " MB/s each"
            }
            try StandardOutput.line("prepared \(out): \(summary.trainTokens) training and \(summary.validationTokens) validation tokens "
                + "of \(summary.vocabularySize), \(summary.width) byte\(summary.width == 1 ? "" : "s") each, from "
                + String(format: "%.1f MB of text in %.2f s (%@)", megabytes, summary.seconds, rates))
        }
    }
}
