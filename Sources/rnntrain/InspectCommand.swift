import ArgumentParser
import Checkpoints
import Files
import Foundation
import Training

/// `rnntrain inspect`: what a checkpoint holds, after verifying it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Verify a checkpoint and show its config, step, and tensors.")

    @Argument(help: "Checkpoint directory.")
    var checkpoint: String

    func run() throws {
        let ckpt = try Checkpoint.load(checkpoint)
        let m = ckpt.model.config
        try StandardOutput.line("checkpoint \(ckpt.name): valid (every checksum matches)")
        try StandardOutput.line("step \(ckpt.state.step), tokens \(ckpt.state.tokens), optimizer updates \(ckpt.state.optimizerUpdates), skipped steps \(ckpt.state.skippedSteps)")
        try StandardOutput.line("model \(m.architecture)\(m.bidirectional ? " bidirectional" : ""), \(m.isWindowedMLP ? "context \(m.context)" : "layers \(m.layers)"), hidden \(m.hidden), embedding \(m.embedding), vocabulary \(m.vocabulary) (\(ckpt.vocabulary.kind.rawValue))")
        try StandardOutput.line("parameters \(ckpt.model.layout.count)")
        let (nonFinite, first) = FiniteWeights.census(ckpt.model)
        if let first { try StandardOutput.line("non-finite weights \(nonFinite) (the first in \(first)): eval and sample refuse this checkpoint") }
        try StandardOutput.line("tensors:")
        for line in ckpt.model.layout.description.split(separator: "\n") { try StandardOutput.line("  \(line)") }
        try StandardOutput.line("config:")
        for line in ckpt.config.yaml().split(separator: "\n", omittingEmptySubsequences: false) { try StandardOutput.line("  \(line)") }
    }
}
