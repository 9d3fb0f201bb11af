import Files

/// The token ids an n-gram model is over, 0..<size, and the three that are special to it.
/// `sentenceStart` (<s>) is only ever a context, never predicted; `sentenceEnd` (</s>) is
/// predicted like a word; `unknown` (<unk>) has no special rule here beyond being written under
/// that name in ARPA files, where KenLM maps words it does not know to it.
public struct NGramVocabulary: Equatable, Sendable {
    /// docs/ngram.md's model limit: dense per-token tables of this size still fit in memory.
    public static let maximumSize = 1 << 24

    public let size: Int
    public let sentenceStart: Int32
    public let sentenceEnd: Int32
    public let unknown: Int32

    /// Throws a UserError when the size exceeds `maximumSize` or the three ids are not distinct
    /// ids in 0..<size.
    public init(size: Int, sentenceStart: Int32, sentenceEnd: Int32, unknown: Int32) throws {
        guard (3...Self.maximumSize).contains(size) else {
            throw UserError("n-gram vocabulary of \(size) tokens: must be between 3 and \(Self.maximumSize)")
        }
        for (name, id) in [("<s>", sentenceStart), ("</s>", sentenceEnd), ("<unk>", unknown)] {
            guard (0..<Int32(size)).contains(id) else {
                throw UserError("n-gram vocabulary: \(name) id \(id) is not in 0..<\(size)")
            }
        }
        guard sentenceStart != sentenceEnd, sentenceStart != unknown, sentenceEnd != unknown else {
            throw UserError("n-gram vocabulary: <s>, </s> and <unk> need three different ids")
        }
        self.size = size
        self.sentenceStart = sentenceStart
        self.sentenceEnd = sentenceEnd
        self.unknown = unknown
    }

    /// The tokens a model predicts: every token but <s>. The unigram level interpolates with the
    /// uniform distribution over them, as KenLM does (its vocabulary size counts <unk>, not <s>).
    var predictedCount: Int { size - 1 }
}
