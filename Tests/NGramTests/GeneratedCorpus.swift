import NGram
import TestSupport

/// Token ids 0, 1, 2 are <s>, </s>, <unk>; words are 3..<size.
func generatedVocabulary(size: Int) -> NGramVocabulary {
    try! NGramVocabulary(size: size, sentenceStart: 0, sentenceEnd: 1, unknown: 2)
}

/// Sentences of 0…maxLength words drawn from a Zipf distribution (word k with weight 1/(k+1)²), so
/// that common n-grams repeat and rare words have few distinct neighbours: every count-of-count
/// is populated. The last id is never drawn, so one vocabulary token stays unseen.
func generatedSentences(seed: UInt64, sentences: Int, maxLength: Int, vocabulary size: Int) -> [[Int32]] {
    var rng = SplitMix(seed: seed)
    let weights = (0..<(size - 4)).map { 1 / Double(($0 + 1) * ($0 + 1)) }
    let total = weights.reduce(0, +)
    func word() -> Int32 {
        var u = Double(rng.next() >> 11) * 0x1p-53 * total
        for (k, weight) in weights.enumerated() {
            u -= weight
            if u < 0 { return Int32(3 + k) }
        }
        return Int32(3 + weights.count - 1)
    }
    return (0..<sentences).map { _ in (0..<rng.below(maxLength + 1)).map { _ in word() } }
}
