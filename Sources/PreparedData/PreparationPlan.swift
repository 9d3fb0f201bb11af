import Collectives
import Config
import Files
import TextData

/// What every rank of a `prepare` works out alike before it reads the text: the training and
/// validation texts, where the validation part starts, and each rank's byte range of each part.
/// A cut between two ranks' ranges falls where a UTF-8 scalar starts (char), after whitespace
/// (word; a line or a space) or anywhere (byte): the first such place at or after an equal
/// share, so the parts encode as the whole text does. A rank may get an empty range.
struct PreparationPlan {
    let kind: TokenizerKind
    let cut: TextChunks.Cut
    let text: TextChunks
    let validationText: TextChunks
    /// Rank r's training bytes are text[trainCuts[r]..<trainCuts[r + 1]]; the last is the split.
    let trainCuts: [Int]
    /// Rank r's validation bytes are validationText[validationCuts[r]..<validationCuts[r + 1]].
    let validationCuts: [Int]
    var validationEnd: Int { validationCuts.last! }
    /// The text read: the training text, and the validation text when it is another.
    let textBytes: Int

    init(data: DataConfig, ranks: Int) throws {
        try Corpus.requirePath(data.path)
        kind = data.tokenizer
        cut = kind == .char ? .scalar : kind == .word ? .word : .anywhere
        text = TextChunks(files: try TextFiles.list(data.path))
        let trainEnd: Int
        let validationRange: Range<Int>
        if !data.valPath.isEmpty {
            validationText = TextChunks(files: try TextFiles.list(data.valPath))
            trainEnd = text.size
            validationRange = 0..<validationText.size
            textBytes = text.size + validationText.size
        } else {
            guard data.valFraction >= 0, data.valFraction < 1 else {
                throw UserError("validation fraction \(data.valFraction) must be in [0, 1)")
            }
            var readFailure: Error?
            let text = text
            let split = Corpus.splitPoint(count: text.size, valFraction: data.valFraction, tokenizer: kind) { i in
                do { return try text.byte(at: i) } catch {
                    readFailure = error
                    return 0
                }
            }
            if let readFailure { throw readFailure }
            guard split > 0 else {
                throw UserError("\(data.path): too small to hold out \(data.valFraction) of it for validation")
            }
            validationText = text
            trainEnd = split
            validationRange = split..<text.size
            textBytes = text.size
        }
        trainCuts = try Self.cuts(text, 0..<trainEnd, parts: ranks, cut: cut)
        validationCuts = try Self.cuts(validationText, validationRange, parts: ranks, cut: cut)
    }

    /// Refuses to go on when a rank lists other files (or sizes) than rank 0: each rank reads
    /// the files itself, so they must be the same files, on a file system every rank shares.
    func requireSameFiles(comm: Communicator) throws {
        guard comm.size > 1 else { return }
        var fingerprint: UInt64 = 0xCBF2_9CE4_8422_2325
        for files in [text.files, validationText.files] {
            for file in files.files {
                for byte in Array(file.path.utf8) + [0] + Array(String(file.size).utf8) + [0] {
                    fingerprint = (fingerprint ^ UInt64(byte)) &* 0x100_0000_01B3
                }
            }
        }
        let all = try comm.allgather(fingerprint)
        try agree(comm) {
            if let other = all.firstIndex(where: { $0 != all[0] }) {
                throw UserError("\(text.files.source): rank \(other) lists other files or sizes than rank 0 (prepare under mpirun reads the text on a file system every rank shares)")
            }
        }
    }

    /// Pass 1 of a rank: the counts of its training range (with the words, for the vocabulary)
    /// and of its validation range (the tokens only); `progress` gets the bytes read so far.
    func count(_ train: Range<Int>, _ validation: Range<Int>, pieceBytes: Int,
               progress: (Int) throws -> Void) throws -> (train: TextCounts, validation: TextCounts) {
        guard kind != .byte else { return (TextCounts(byteTokens: train.count), TextCounts(byteTokens: validation.count)) }
        var counts = (train: TextCounts(kind: kind), validation: TextCounts(kind: kind, countingWords: false))
        var done = 0
        try text.forEachPiece(train, cut: cut, pieceBytes: pieceBytes, endsText: train.upperBound == trainCuts.last!) {
            try counts.train.add($0, source: $1, offset: $2, final: $3)
            done += $0.count
            try progress(done)
        }
        try validationText.forEachPiece(validation, cut: cut, pieceBytes: pieceBytes, endsText: validation.upperBound == validationEnd) {
            try counts.validation.add($0, source: $1, offset: $2, final: $3)
            done += $0.count
            try progress(done)
        }
        return counts
    }

    /// `parts + 1` offsets from `range.lowerBound` to `range.upperBound`, each cut moved forward
    /// to the first place `cut` allows.
    static func cuts(_ text: TextChunks, _ range: Range<Int>, parts: Int, cut: TextChunks.Cut) throws -> [Int] {
        var cuts = [range.lowerBound]
        for k in 1..<max(parts, 1) {
            var c = max(range.lowerBound + range.count * k / parts, cuts.last!)
            while c > range.lowerBound, c < range.upperBound {
                let allowed: Bool
                switch cut {
                case .anywhere: allowed = true
                case .scalar: allowed = try text.byte(at: c) & 0xC0 != 0x80
                case .word: allowed = isWordSpace(try text.byte(at: c - 1))
                }
                if allowed { break }
                c += 1
            }
            cuts.append(c)
        }
        return cuts + [range.upperBound]
    }
}
