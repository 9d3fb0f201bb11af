import Files

/// How the tokens are written in an ARPA file and in the text KenLM scores: ARPA words are
/// separated by whitespace, so a token must be a non-empty run of non-whitespace characters.
extension Vocabulary {
    /// The sentence start `<s>`, an id one past the vocabulary's: a context only, never predicted.
    public var sentenceStart: Int32 { Int32(count) }

    /// ARPA words by id, `<s>` last (at `sentenceStart`). word: `<eos>` is `</s>`, the words as they
    /// are; byte: the `<0xAB>` names; char: the character itself, or `<U+XXXX>` for whitespace and
    /// control characters, which cannot be an ARPA word. A word spelled `<s>` or `</s>` in the
    /// text would be read as a sentence boundary → UserError.
    public func arpaWords() throws -> [String] {
        var words: [String]
        switch kind {
        case .byte:
            words = tokens
        case .char:
            words = tokens.map { token in
                guard let scalar = token.unicodeScalars.first, token.unicodeScalars.count == 1 else { return token }
                return Self.needsEscape(scalar) ? Self.escaped(scalar) : token
            }
        case .word:
            words = tokens
            words[Int(Self.eosID)] = "</s>"
            if let clash = tokens.firstIndex(where: { $0 == "<s>" || $0 == "</s>" }) {
                throw UserError("the word \(tokens[clash]) occurs in the text: in an ARPA file it is a sentence boundary")
            }
        }
        return words + ["<s>"]
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
}
