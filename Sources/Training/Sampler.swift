import Files
import Foundation
import Kernels
import ModelSpec
import Models
import TextData

/// Text from a causal model: the prime sets the state, then each token is drawn from
/// softmax(logits / temperature), restricted to the k most likely when topK > 0.
public struct Sampler {
    public let model: Model<Float>
    public let vocabulary: Vocabulary

    public init(model: Model<Float>, vocabulary: Vocabulary) throws {
        guard !model.config.bidirectional else {
            throw UserError("sampling needs a causal model; this one is bidirectional (fill-in-the-middle)")
        }
        self.model = model
        self.vocabulary = vocabulary
    }

    /// Calls `emit` with each generated token's text; an error `emit` throws (a failed write)
    /// ends the generation at once.
    public func generate(prime: [Int32], length: Int, temperature: Double, topK: Int, seed: UInt64,
                         emit: (String) throws -> Void) throws {
        var rng = SplitMix64(seed: seed)
        let k = model.config.historyTokens
        let state = Buffer<Float>(count: model.stateLayout.width)
        var recent = [Int32](repeating: -1, count: k)
        var input = prime.isEmpty ? [defaultStart] : prime
        for _ in 0..<length {
            var batch = Batch(steps: input.count, sequences: 1, inputs: input,
                              targets: [Int32](repeating: -1, count: input.count))
            if k > 0 { batch.history = recent }
            _ = try model.evaluate(batch, initialState: state)
            state.copy(from: model.finalState)
            if k > 0 { recent = Array((recent + input).suffix(k)) }
            let V = vocabulary.count
            let last = UnsafeBufferPointer(rebasing: model.logits[(input.count - 1) * V ..< input.count * V])
            let token = draw(last, temperature: temperature, topK: topK, rng: &rng)
            let text = vocabulary.decode([token])
            try emit(vocabulary.kind == .word && text != "\n" ? text + " " : text)
            input = [token]
        }
    }

    /// A newline (or end of line) when the vocabulary has one, else token 0.
    var defaultStart: Int32 {
        Int32(vocabulary.tokens.firstIndex(of: "\n") ?? vocabulary.tokens.firstIndex(of: "<eos>") ?? 0)
    }

    func draw(_ logits: UnsafeBufferPointer<Float>, temperature: Double, topK: Int, rng: inout SplitMix64) -> Int32 {
        var candidates = Array(0..<logits.count)
        if let mask = vocabulary.maskToken { candidates.removeAll { $0 == Int(mask) } }
        return Self.draw(among: candidates, scores: logits.map(Double.init), temperature: temperature, topK: topK, rng: &rng)
    }

    /// Draws one of `candidates` (indices of `scores`) with probability ∝ exp(score / temperature),
    /// among the `topK` highest scores when topK > 0. Scores are logits or natural-log
    /// probabilities, which a softmax turns into the same draw.
    public static func draw(among candidates: [Int], scores: [Double], temperature: Double, topK: Int,
                            rng: inout SplitMix64) -> Int32 {
        var candidates = candidates
        if topK > 0, topK < candidates.count {
            candidates.sort { scores[$0] > scores[$1] }
            candidates.removeLast(candidates.count - topK)
        }
        let top = candidates.map { scores[$0] }.max()!
        let weights = candidates.map { Foundation.exp((scores[$0] - top) / temperature) }
        var u = rng.nextUnit() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return Int32(candidates[i]) }
        }
        return Int32(candidates.last!)
    }
}
