import Config
import Files

/// How the tokens are written in an ARPA file and in the text KenLM scores: ARPA words are
/// separated by whitespace, so a token must be a non-empty run of non-whitespace characters.
extension Vocabulary {
    /// ARPA words by id: the vocabulary's tokens, then the boundary and unknown tokens it lacks.
    /// word: `<eos>` is `</s>`, `<unk>` stays, the words as they are, `<s>` appended; char and
    /// byte (one stream of text, no unknown token): `<s>`, `</s>`, `<unk>` appended, a byte as its
    /// `<0xAB>` name, a character as itself or `<U+000A>` style for whitespace and control characters,
    /// which cannot be an ARPA word. A word spelled `<s>` or `</s>` in the text → UserError: it
    /// would be read as a sentence boundary.
    public func arpaWords() throws -> [String] {
        switch kind {
        case .byte:
            return tokens + ["<s>", "</s>", "<unk>"]
        case .char:
            return tokens.map { token in
                guard let scalar = token.unicodeScalars.first, token.unicodeScalars.count == 1 else { return token }
                return Self.needsEscape(scalar) ? Self.escaped(scalar) : token
            } + ["<s>", "</s>", "<unk>"]
        case .word:
            if let clash = tokens.first(where: { $0 == "<s>" || $0 == "</s>" }) {
                throw UserError("the word \(clash) occurs in the text: in an ARPA file it is a sentence boundary")
            }
            var words = tokens
            words[Int(Self.eosID)] = "</s>"
            return words + ["<s>"]
        }
    }

    /// `<s>`'s id among the ARPA words: one past the vocabulary's own.
    public var sentenceStart: Int32 { Int32(count) }
    /// `</s>`'s id: word `<eos>`; char and byte, the one after `<s>`.
    public var sentenceEnd: Int32 { kind == .word ? Self.eosID : Int32(count + 1) }

    /// `<unk>`'s id: word, the vocabulary's own; char and byte, the last one appended.
    public var unknownWord: Int32 { kind == .word ? Self.unkID : Int32(count + 2) }

    /// The vocabulary whose `arpaWords()` are `words` (read back from a model's `words.txt`;
    /// the caller compares), validated as a stored vocabulary is → UserError.
    public init(arpaWords words: [String], kind: TokenizerKind) throws {
        let appended = kind == .word ? 1 : 3
        guard words.count > appended else { throw UserError("ARPA words: \(words.count) are too few for a \(kind.rawValue) vocabulary") }
        var tokens = Array(words.dropLast(appended))
        switch kind {
        case .byte:
            break
        case .char:
            tokens = tokens.map(Self.unescaped)
        case .word:
            tokens[Int(Self.eosID)] = Self.eosName
        }
        try self.init(kind: kind, tokens: tokens, maskToken: nil)
    }

    /// The character a `<U+000A>` style name stands for; any other name as it is.
    static func unescaped(_ name: String) -> String {
        guard name.hasPrefix("<U+"), name.hasSuffix(">"), let value = UInt32(name.dropFirst(3).dropLast(), radix: 16),
              let scalar = Unicode.Scalar(value) else { return name }
        return String(Character(scalar))
    }

    /// Whitespace and control characters (what KenLM would split on, and what a reader cannot see).
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x21 || scalar.value == 0x7F || scalar.properties.isWhitespace
    }

    /// `<U+0020>` style, four hex digits at least, as Unicode writes code points.
    static func escaped(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
    }

    /// The sentences an n-gram model counts and scores: word: one per line (split at `<eos>`,
    /// which KenLM's `</s>` stands for); char and byte: the whole text as one.
    public func sentences(_ tokens: [Int32]) -> [[Int32]] {
        guard kind == .word else { return [tokens] }
        return tokens.split(separator: Self.eosID, omittingEmptySubsequences: false).dropLast(tokens.last == Self.eosID ? 1 : 0).map(Array.init)
    }
}
