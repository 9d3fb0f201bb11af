import ArgumentParser
import Checkpoints
import Files
import Foundation
import Kernels
import NGramFiles
import TextData
import Training

/// `rnntrain sample`: text from a checkpoint.
///
/// Numeric options parse `.unconditional`ly, so `--temperature -1` reaches `validate()` and is
/// refused with the option's range instead of ArgumentParser's "Missing value" (it takes "-1"
/// for an option name otherwise).
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Generate text from a checkpoint.")

    @Option(help: "Checkpoint directory, or an n-gram model: the run directory of rnntrain ngram, its model.arpa, or any ARPA file.")
    var checkpoint: String

    @Option(help: "Text to start from (its tokens set the state; printed first).")
    var prime = ""

    @Option(parsing: .unconditional, help: "Tokens to generate (≥ 0).")
    var length = 500

    @Option(parsing: .unconditional, help: "Softmax temperature (> 0); lower is more conservative.")
    var temperature = 1.0

    @Option(parsing: .unconditional, help: "Draw only among the k most likely tokens (≥ 0; 0 = all).")
    var topK = 0

    @Option(parsing: .unconditional, help: "Seed of the draws, 0 to 2^64 - 1 (a negative seed is refused).", transform: { try Seed.parse($0) })
    var seed: UInt64 = 1

    @OptionGroup var precision: PrecisionOption

    @OptionGroup var tokenizer: TokenizerOption

    func validate() throws {
        guard temperature > 0 else { throw ValidationError("--temperature must be > 0, got \(shown(temperature))") }
        guard length >= 0 else { throw ValidationError("--length must be ≥ 0, got \(length)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
    }

    func run() throws {
        if let lm = try NGramLanguageModel.open(checkpoint, tokenizer: tokenizer.tokenizer) {
            return try write(vocabulary: lm.vocabulary, generate: lm.generate)
        }
        let ckpt = try Checkpoint.load(checkpoint, precision: precision.precision)
        try FiniteWeights.require(ckpt)
        if ckpt.model.productEngine == BF16Products.Engine.emulated.rawValue { warn(BF16.emulationNotice) }
        let sampler = try Sampler(model: ckpt.model, vocabulary: ckpt.vocabulary)
        try write(vocabulary: ckpt.vocabulary, generate: sampler.generate)
    }

    /// The prime, then the generated text, from a network's `Sampler` or an n-gram model. One
    /// checked write per token: the text appears as it is drawn, and the first failed write (a
    /// full device, a closed terminal) ends the command.
    private func write(vocabulary: Vocabulary, generate: (_ prime: [Int32], _ length: Int, _ temperature: Double, _ topK: Int,
                                                         _ seed: UInt64, _ emit: (String) throws -> Void) throws -> Void) throws {
        let (tokens, unknown) = try vocabulary.encode(Array(prime.utf8), source: "--prime")
        if unknown > 0 { warn("--prime: \(unknown) tokens not in the vocabulary were skipped or mapped to <unk>") }
        try StandardOutput.write(prime)
        try generate(tokens, length, temperature, topK, seed) { text in try StandardOutput.write(text) }
        try StandardOutput.line()
    }
}
