import Config
import Files

/// The vocabulary of a bare ARPA file, one without rnntrain's `words.txt` and `config.yaml`
/// (written by KenLM's `lmplz`, SRILM, or copied out of an `rnntrain ngram` directory): its
/// 1-gram words say which tokens there are; the tokenizer is given or guessed from them.
extension Vocabulary {
    private static let boundaryWords: Set<String> = ["<s>", "</s>", "<unk>"]

    /// The tokenizer a bare ARPA file's 1-grams imply: byte when they are the 256 `<0xAB>` names;
    /// char when every one but <s>, </s>, <unk> is one character or a `<U+000A>` style name and
    /// at least one is such a name (whitespace, which no word can be: every text of more than one
    /// line or word has some); word otherwise, as KenLM's `query` reads text, so a word model of
    /// one-character words (Chinese characters separated by spaces) stays a word model.
    public static func arpaTokenizer(of unigrams: [String]) -> TokenizerKind {
        let tokens = unigrams.filter { !boundaryWords.contains($0) }
        if Set(tokens) == Set(byteNames) { return .byte }
        let escapes = tokens.filter { unescaped($0) != $0 }
        let single = tokens.allSatisfy { unescaped($0).unicodeScalars.count == 1 }
        return single && !escapes.isEmpty ? .char : .word
    }

    /// The vocabulary whose `arpaWords()` are `unigrams` in the layout that `rnntrain ngram`
    /// gives them: word, `</s>` and `<unk>` first, then the words in file order, `<s>` last;
    /// char and byte, the tokens sorted as `build` sorts them, then <s>, </s>, <unk>. A file
    /// `rnntrain ngram` wrote therefore gets the token ids of its directory. A 1-gram list
    /// without <s>, </s> or <unk>, or a char model's word that is not one character → UserError.
    public init(arpaUnigrams unigrams: [String], kind: TokenizerKind) throws {
        for word in ["<s>", "</s>", "<unk>"] where !unigrams.contains(word) {
            throw UserError("no \(word) among the 1-grams (KenLM's lmplz writes all three)")
        }
        let tokens = unigrams.filter { !Self.boundaryWords.contains($0) }
        switch kind {
        case .word:
            try self.init(arpaWords: ["</s>", "<unk>"] + tokens + ["<s>"], kind: .word)
        case .char:
            if let word = tokens.first(where: { Self.unescaped($0).unicodeScalars.count != 1 }) {
                throw UserError("the 1-gram \(JSON.quotedShort(word)) is not one character (--tokenizer word reads a word model)")
            }
            let sorted = tokens.sorted { Self.unescaped($0).unicodeScalars.first!.value < Self.unescaped($1).unicodeScalars.first!.value }
            try self.init(arpaWords: sorted + ["<s>", "</s>", "<unk>"], kind: .char)
        case .byte:
            // "<0x0A>" < "<0x41>" as strings as in value: two uppercase hex digits each.
            try self.init(arpaWords: tokens.sorted() + ["<s>", "</s>", "<unk>"], kind: .byte)
        }
    }
}
