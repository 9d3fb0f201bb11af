import ArgumentParser
import Checkpoints
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
        print("checkpoint \(ckpt.name): valid (every checksum matches)")
        print("step \(ckpt.state.step), tokens \(ckpt.state.tokens), optimizer updates \(ckpt.state.optimizerUpdates), skipped steps \(ckpt.state.skippedSteps)")
        print("model \(m.cell.rawValue)\(m.bidirectional ? " bidirectional" : ""), \(m.cell == .mlp ? "context \(m.context)" : "layers \(m.layers)"), hidden \(m.hidden), embedding \(m.embedding), vocabulary \(m.vocabulary) (\(ckpt.vocabulary.kind.rawValue))")
        print("parameters \(ckpt.model.layout.count)")
        print("tensors:")
        for line in ckpt.model.layout.description.split(separator: "\n") { print("  \(line)") }
        print("config:")
        for line in ckpt.config.yaml().split(separator: "\n", omittingEmptySubsequences: false) { print("  \(line)") }
    }
}
