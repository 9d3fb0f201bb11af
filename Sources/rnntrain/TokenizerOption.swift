import ArgumentParser
import Config

extension TokenizerKind: ExpressibleByArgument {}

/// `--tokenizer` of the commands that read a model: a bare ARPA file has no `config.yaml` to say
/// how text becomes its words, and its 1-grams may not tell (a word model of one-letter words).
struct TokenizerOption: ParsableArguments {
    @Option(help: "For a bare ARPA file only: word, char or byte (default: char for rnntrain's <U+0020> style 1-grams, byte for its <0x41> ones, otherwise word, as KenLM's query reads text).")
    var tokenizer: TokenizerKind?
}
