import Files
import Config

/// Training and validation token streams: arrays tokenized from text, or a prepared dataset's
/// mapped token files.
public struct Corpus: Sendable {
    public let vocabulary: Vocabulary
    public let train: any TokenStream
    public let validation: any TokenStream
    /// The SHA-256 of the training then the validation tokens as little-endian Int32, when the
    /// source recorded it (a prepared dataset's header); nil: computed from the tokens.
    public let digest: [UInt8]?
    /// Whether the tokens are held in this process's memory (not a mapped file), for the memory check.
    public let inMemory: Bool

    /// Tokens from anywhere (`load`, or the benchmark's synthetic text).
    public init(vocabulary: Vocabulary, train: [Int32], validation: [Int32]) {
        self.vocabulary = vocabulary
        self.train = train
        self.validation = validation
        digest = nil
        inMemory = true
    }

    /// A prepared dataset's streams and the digest its header records.
    public init(vocabulary: Vocabulary, mappedTrain: any TokenStream, validation: any TokenStream, digest: [UInt8]) {
        self.vocabulary = vocabulary
        train = mappedTrain
        self.validation = validation
        self.digest = digest
        inMemory = false
    }

    /// Reads the text `path` names (one file, a directory of files or a glob, joined as
    /// `TextFiles` says; missing/unreadable/empty → UserError naming the path). Validation:
    /// the text `valPath` names when non-empty (encoded with the training vocabulary), else the
    /// last `valFraction` of the text (split on a byte boundary that does not cut a UTF-8 scalar
    /// for char, and on a line boundary for word when one exists near it); the vocabulary is built
    /// from the training part only. valFraction 0 → empty validation. Errors in the text name the
    /// file and the byte offset in it.
    public static func load(path: String, valPath: String, valFraction: Double, tokenizer: TokenizerKind,
                            minCount: Int, withMask: Bool) throws -> Corpus {
        try requirePath(path)
        let files = try TextFiles.list(path)
        let text = try files.read()
        let train: Range<Int>
        let held: (files: TextFiles, text: [UInt8], range: Range<Int>)
        if !valPath.isEmpty {
            let valFiles = try TextFiles.list(valPath)
            train = 0..<text.count
            held = (valFiles, try valFiles.read(), 0..<valFiles.size)
        } else {
            guard valFraction >= 0, valFraction < 1 else {
                throw UserError("validation fraction \(valFraction) must be in [0, 1)")
            }
            let split = splitPoint(text, valFraction: valFraction, tokenizer: tokenizer)
            guard split > 0 else {
                throw UserError("\(path): too small to hold out \(valFraction) of it for validation")
            }
            train = 0..<split
            held = (files, text, split..<text.count)
        }
        var counts = TextCounts(kind: tokenizer)
        try files.forEachPart(of: text, train) { try counts.add($0, source: $1, offset: $2, final: $3) }
        let vocabulary = try counts.vocabulary(source: path, minCount: minCount, withMask: withMask)
        let encoder = TokenEncoder(vocabulary)
        func encode(_ files: TextFiles, _ text: [UInt8], _ range: Range<Int>) throws -> [Int32] {
            var ids: [Int32] = []
            try files.forEachPart(of: text, range) { ids += try encoder.encode($0, source: $1, offset: $2, final: $3, as: Int32.self).ids }
            return ids
        }
        return Corpus(vocabulary: vocabulary, train: try encode(files, text, train),
                      validation: try encode(held.files, held.text, held.range))
    }

    /// Refuses an empty `data.path` by its key: read as a path, "" would be "no such file" of nothing.
    public static func requirePath(_ path: String) throws {
        guard path.isEmpty else { return }
        throw UserError("data.path is not set: name the training text in the config's data section or with --set data.path=FILE")
    }

    /// Where the validation part starts: `valFraction` of the bytes from the end, moved so that
    /// char never cuts a scalar and word prefers a line end (else a space) within a window of half
    /// the validation size. Returns `text.count` for valFraction 0.
    static func splitPoint(_ text: [UInt8], valFraction: Double, tokenizer: TokenizerKind) -> Int {
        splitPoint(count: text.count, valFraction: valFraction, tokenizer: tokenizer) { text[$0] }
    }

    /// `splitPoint` of a text of `count` bytes that reads only the bytes it needs through `byte`:
    /// the few before the raw split for char, a window of `splitWindow` bytes either side for
    /// word, none for byte. So a file can be split without being read.
    public static func splitPoint(count: Int, valFraction: Double, tokenizer: TokenizerKind,
                                  byte: (Int) -> UInt8) -> Int {
        guard valFraction > 0 else { return count }
        let (raw, window) = rawSplit(count: count, valFraction: valFraction)
        var split = raw
        if tokenizer == .word {
            if let s = nearestBoundary(count: count, near: split, window: window, byte: byte, where: { $0 == 0x0A })
                ?? nearestBoundary(count: count, near: split, window: window, byte: byte, where: { $0 == 0x20 || $0 == 0x09 }) {
                return s
            }
        }
        if tokenizer != .byte {
            // Step back over UTF-8 continuation bytes (10xxxxxx) to the start of the scalar.
            while split > 0, split < count, byte(split) & 0xC0 == 0x80 { split -= 1 }
        }
        return split
    }

    /// The split before it moves to a boundary, and how far word looks for one.
    public static func rawSplit(count: Int, valFraction: Double) -> (split: Int, window: Int) {
        // At least one byte, so a positive fraction never silently yields an empty validation set.
        let valBytes = max(1, Int((Double(count) * valFraction).rounded()))
        return (max(0, count - valBytes), max(64, valBytes / 2))
    }

    /// The split just after the separator byte closest to `near`, keeping both parts non-empty.
    private static func nearestBoundary(count: Int, near: Int, window: Int, byte: (Int) -> UInt8,
                                        where isSeparator: (UInt8) -> Bool) -> Int? {
        for distance in 0...window {
            let before = near - distance, after = near + distance
            if before > 0, before < count, isSeparator(byte(before - 1)) { return before }
            if after > 0, after < count, isSeparator(byte(after - 1)) { return after }
        }
        return nil
    }
}
