import ArgumentParser
import Checkpoints
import Foundation
import Kernels
import Training

/// `rnntrain sample`: text from a checkpoint.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Generate text from a checkpoint.")

    @Option(help: "Checkpoint directory.")
    var checkpoint: String

    @Option(help: "Text to start from (its tokens set the state; printed first).")
    var prime = ""

    @Option(help: "Tokens to generate.")
    var length = 500

    @Option(help: "Softmax temperature (> 0); lower is more conservative.")
    var temperature = 1.0

    @Option(help: "Draw only among the k most likely tokens (0 = all).")
    var topK = 0

    @Option(help: "Seed of the draws.")
    var seed: UInt64 = 1

    @OptionGroup var precision: PrecisionOption

    func validate() throws {
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0") }
        guard length >= 0 else { throw ValidationError("--length must be ≥ 0") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
    }

    func run() throws {
        let ckpt = try Checkpoint.load(checkpoint, precision: precision.precision)
        if ckpt.model.productEngine == BF16Products.Engine.emulated.rawValue { warn(BF16.emulationNotice) }
        let sampler = try Sampler(model: ckpt.model, vocabulary: ckpt.vocabulary)
        let (tokens, unknown) = try ckpt.vocabulary.encode(Array(prime.utf8), source: "--prime")
        if unknown > 0 { warn("--prime: \(unknown) tokens not in the vocabulary were skipped") }
        print(prime, terminator: "")
        try sampler.generate(prime: tokens, length: length, temperature: temperature, topK: topK, seed: seed) { text in
            print(text, terminator: "")
            fflush(stdout)
        }
        print("")
    }
}
