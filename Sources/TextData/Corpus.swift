import Files
import Config

/// Training and validation token streams.
public struct Corpus: Sendable {
    public let vocabulary: Vocabulary
    public let train: [Int32]
    public let validation: [Int32]

    /// Tokens from anywhere (`load`, or the benchmark's synthetic text).
    public init(vocabulary: Vocabulary, train: [Int32], validation: [Int32]) {
        self.vocabulary = vocabulary
        self.train = train
        self.validation = validation
    }

    /// Reads `path` (missing/unreadable/empty/directory → UserError naming the path). Validation:
    /// `valPath` when non-empty (encoded with the training vocabulary), else the last `valFraction`
    /// of the text (split on a byte boundary that does not cut a UTF-8 scalar for char, and on a
    /// line boundary for word when one exists near it); the vocabulary is built from the training
    /// part only. valFraction 0 → empty validation.
    public static func load(path: String, valPath: String, valFraction: Double, tokenizer: TokenizerKind,
                            minCount: Int, withMask: Bool) throws -> Corpus {
        guard !path.isEmpty else {
            throw UserError("data.path is not set: name the training text in the config's data section or with --set data.path=FILE")
        }
        let text = try readText(path)
        let trainText: [UInt8]
        let valText: [UInt8]
        let valSource: String
        if !valPath.isEmpty {
            trainText = text
            valText = try readText(valPath)
            valSource = valPath
        } else {
            guard valFraction >= 0, valFraction < 1 else {
                throw UserError("validation fraction \(valFraction) must be in [0, 1)")
            }
            let split = splitPoint(text, valFraction: valFraction, tokenizer: tokenizer)
            guard split > 0 else {
                throw UserError("\(path): too small to hold out \(valFraction) of it for validation")
            }
            trainText = Array(text[..<split])
            valText = Array(text[split...])
            // Offsets in errors about the held-out part are relative to the file, so say where it starts.
            valSource = "\(path) (validation part from byte \(split))"
        }
        let vocabulary = try Vocabulary.build(kind: tokenizer, text: trainText, source: path,
                                              minCount: minCount, withMask: withMask)
        let train = try vocabulary.encode(trainText, source: path)
        let validation = try vocabulary.encode(valText, source: valSource)
        return Corpus(vocabulary: vocabulary, train: train.tokens, validation: validation.tokens)
    }

    /// Where the validation part starts: `valFraction` of the bytes from the end, moved so that
    /// char never cuts a scalar and word prefers a line end (else a space) within a window of half
    /// the validation size. Returns `text.count` for valFraction 0.
    static func splitPoint(_ text: [UInt8], valFraction: Double, tokenizer: TokenizerKind) -> Int {
        guard valFraction > 0 else { return text.count }
        // At least one byte, so a positive fraction never silently yields an empty validation set.
        let valBytes = max(1, Int((Double(text.count) * valFraction).rounded()))
        var split = max(0, text.count - valBytes)
        if tokenizer == .word {
            let window = max(64, valBytes / 2)
            if let s = nearestBoundary(text, near: split, window: window, where: { $0 == 0x0A })
                ?? nearestBoundary(text, near: split, window: window, where: { $0 == 0x20 || $0 == 0x09 }) {
                return s
            }
        }
        if tokenizer != .byte {
            // Step back over UTF-8 continuation bytes (10xxxxxx) to the start of the scalar.
            while split > 0, split < text.count, text[split] & 0xC0 == 0x80 { split -= 1 }
        }
        return split
    }

    /// The split just after the separator byte closest to `near`, keeping both parts non-empty.
    private static func nearestBoundary(_ text: [UInt8], near: Int, window: Int,
                                        where isSeparator: (UInt8) -> Bool) -> Int? {
        for distance in 0...window {
            let before = near - distance, after = near + distance
            if before > 0, before < text.count, isSeparator(text[before - 1]) { return before }
            if after > 0, after < text.count, isSeparator(text[after - 1]) { return after }
        }
        return nil
    }

    /// The whole file as bytes; every failure names the path.
    private static func readText(_ path: String) throws -> [UInt8] {
        let bytes = try FileIO.readNamed(path, kind: "text file")
        guard !bytes.isEmpty else { throw UserError("\(path): file is empty") }
        return bytes
    }
}
