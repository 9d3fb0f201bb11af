import Files
import Foundation
import Kernels
import TextData
import Training

extension NGramLanguageModel {
    /// Calls `emit` with the text of each token drawn from the model's distribution after the
    /// last order − 1 tokens, at `temperature` and among the `topK` most likely as `Sampler` draws
    /// from a network. The text starts where the model's sentences start, at `<s>` (the start of
    /// a char or byte text, of a line for words), then the prime. `<s>` and `<unk>` are never
    /// drawn, nor, in the one stream of a char or byte model, `</s>`; a word model's `</s>` ends
    /// the line (`<eos>`, a newline) and the next line starts again from `<s>`. A distribution
    /// that is not one (a file's backoffs whose product overflows a Double: infinite or NaN
    /// probabilities, or none above 0 to draw) → UserError, where the draw would silently pick
    /// the last token.
    public func generate(prime: [Int32], length: Int, temperature: Double, topK: Int, seed: UInt64,
                  emit: (String) throws -> Void) throws {
        var rng = SplitMix64(seed: seed)
        let start = vocabulary.sentenceStart, end = vocabulary.sentenceEnd
        let candidates = (0..<vocabulary.count).filter { $0 != Int(vocabulary.unknownWord) }
        var context = [start]
        for token in prime { context = next(context, token) }
        for _ in 0..<length {
            let probabilities = model.distribution(after: context[...])
            guard probabilities.allSatisfy(\.isFinite), candidates.contains(where: { probabilities[$0] > 0 }) else {
                throw UserError("the model's probabilities after \(JSON.quotedShort(vocabulary.decode(context.filter { $0 < vocabulary.count })))"
                                + " are not a distribution: its log10 probabilities and backoffs multiply beyond a Double")
            }
            let scores = probabilities.map { Foundation.log($0) }
            let token = Sampler.draw(among: candidates, scores: scores, temperature: temperature, topK: topK, rng: &rng)
            let text = vocabulary.decode([token])
            try emit(vocabulary.kind == .word && token != end ? text + " " : text)
            context = next(context, token)
        }

        func next(_ context: [Int32], _ token: Int32) -> [Int32] {
            vocabulary.kind == .word && token == end ? [start] : Array((context + [token]).suffix(model.order - 1))
        }
    }
}
