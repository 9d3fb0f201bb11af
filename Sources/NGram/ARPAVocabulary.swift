import Files

/// The word names an ARPA file writes for token ids, checked once for the writer and the reader:
/// one per id, non-empty, without whitespace (ARPA fields are whitespace-separated; the caller
/// escapes), distinct, and <s>, </s>, <unk> exactly at the ids the model gives them, because
/// KenLM recognises those three by name.
public struct ARPAVocabulary {
    /// Name bytes → token id.
    let ids: [[UInt8]: Int32]

    public init(_ names: [String], vocabulary: NGramVocabulary) throws {
        guard names.count == vocabulary.size else {
            throw UserError("ARPA words: \(names.count) names for a vocabulary of \(vocabulary.size) tokens")
        }
        var ids: [[UInt8]: Int32] = [:]
        for (id, name) in names.enumerated() {
            guard !name.isEmpty else { throw UserError("ARPA words: token \(id) has an empty name") }
            guard !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == "\0" }) else {
                throw UserError("ARPA words: token \(id), \(JSON.quotedShort(name)), contains whitespace")
            }
            guard ids.updateValue(Int32(id), forKey: Array(name.utf8)) == nil else {
                throw UserError("ARPA words: \(JSON.quotedShort(name)) names two tokens")
            }
        }
        for (name, id) in [("<s>", vocabulary.sentenceStart), ("</s>", vocabulary.sentenceEnd), ("<unk>", vocabulary.unknown)]
        where names[Int(id)] != name {
            throw UserError("ARPA words: token \(id) must be named \(name), as KenLM expects, not \(JSON.quotedShort(names[Int(id)]))")
        }
        self.ids = ids
    }

    /// The vocabulary that `names` implies: its size and where <s>, </s>, <unk> are.
    public static func vocabulary(of names: [String]) throws -> NGramVocabulary {
        func id(_ name: String) throws -> Int32 {
            guard let index = names.firstIndex(of: name) else { throw UserError("ARPA words: no \(name) among them") }
            return Int32(index)
        }
        return try NGramVocabulary(size: names.count, sentenceStart: id("<s>"), sentenceEnd: id("</s>"), unknown: id("<unk>"))
    }
}
