import Checkpoints
import Clock
import Collectives
import Config
import Dispatch
import Files
import Foundation
import Glibc
import TextData

/// `rnntrain prepare`: tokenizes a corpus once into a `PreparedDataset`, in bounded memory, in one
/// process or split over the ranks of an MPI job.
///
/// The text is `data.path`'s joined text (`TextFiles`); the validation split is the one
/// `Corpus.load` makes (`Corpus.splitPoint`, which reads only the bytes around the split). Each
/// rank takes a byte range of the training part and one of the validation part, cut where a
/// UTF-8 scalar starts (char) or after whitespace (word), and reads them twice, a few megabytes
/// at a time: first it counts (char scalars, words, and the tokens its ranges encode to), then,
/// once the counts are merged over a tree in a fixed order and every rank has built the same
/// vocabulary from them (by the code `Vocabulary.build` uses), it encodes its ranges at the token
/// width and writes them at their place in the token files, whose sizes and headers the counts
/// gave. Rank 0 then reads the token files back once for `SHA256SUMS`, whose hashes are also the
/// corpus digest (`CorpusDigest`). The files are the same bytes at every world size.
///
/// The dataset is built in a temporary sibling directory ".tmp-<name>-<pid of rank 0>" (on a file
/// system every rank shares), every file synced, and renamed to `out` at the end, so `out` never
/// names a half-written dataset. `out` must not exist: an existing directory is not replaced (it
/// might be anything), and a link, device or FIFO there is refused.
public enum DatasetPreparation {
    public struct Summary {
        public let textBytes: Int
        public let trainTokens: Int
        public let validationTokens: Int
        public let vocabularySize: Int
        public let width: Int
        public let seconds: Double
        /// Each rank's text bytes per second of its own two passes (reading, counting, encoding,
        /// writing), by rank.
        public let rankRates: [Double]
    }

    /// `pieceBytes`: how much text is read at a time (small in tests, to cut scalars at every
    /// offset). `stopped`: the signal that asked the process to stop, 0 for none, asked after
    /// every piece (`PrepareProgress`). A collective call: every rank of `comm` makes it; an error
    /// on any rank is an `AgreedError` on all, or in one process the `UserError` itself.
    public static func prepare(data: DataConfig, withMask: Bool, out: URL,
                               comm: Communicator = SingleProcessCommunicator(),
                               pieceBytes: Int = TextChunks.pieceBytes, stopped: @escaping () -> Int32 = { 0 }) throws -> Summary {
        do {
            return try prepareOnRanks(data: data, withMask: withMask, out: out, comm: comm, pieceBytes: pieceBytes,
                                      progress: PrepareProgress(stopped: stopped))
        } catch let agreed as AgreedError where comm.size == 1 {
            throw UserError(agreed.description)
        }
    }

    private static func prepareOnRanks(data: DataConfig, withMask: Bool, out: URL, comm: Communicator,
                                       pieceBytes: Int, progress: PrepareProgress) throws -> Summary {
        let started = ContinuousClock.now
        defer { progress.finish() }
        let plan = try agree(comm) {
            if comm.isRoot { try refuseExisting(out) }
            return try PreparationPlan(data: data, ranks: comm.size)
        }
        try plan.requireSameFiles(comm: comm)
        let mine = (train: plan.trainCuts[comm.rank]..<plan.trainCuts[comm.rank + 1],
                    validation: plan.validationCuts[comm.rank]..<plan.validationCuts[comm.rank + 1])
        let myBytes = mine.train.count + mine.validation.count
        var ownSeconds = 0.0

        // Pass 1: counts.
        var passStart = ContinuousClock.now
        let counted = try agree(comm) {
            progress.start("counting", total: myBytes)
            return try plan.count(mine.train, mine.validation, pieceBytes: pieceBytes) { try progress.update($0) }
        }
        ownSeconds += passStart.secondsAgo
        let kind = data.tokenizer
        let merged = try comm.treeReduce(counted.train, encode: { $0.serialized() },
                                         decode: { try TextCounts(serialized: $0, kind: kind) },
                                         combine: { var all = $0; all.merge($1); return all })
        let all = comm.size == 1 ? counted.train
            : try TextCounts(serialized: Sharing.broadcast(merged?.serialized() ?? [], comm: comm), kind: kind)
        let vocabulary = try agree(comm) { try all.vocabulary(source: data.path, minCount: data.minCount, withMask: withMask) }
        let width = TokenFileHeader.width(forVocabularySize: vocabulary.count)
        let trainCounts = try comm.allgather(Int64(counted.train.tokens(in: vocabulary))).map(Int.init)
        let validationCounts = try comm.allgather(Int64(counted.validation.tokens(in: vocabulary))).map(Int.init)
        let trainTotal = trainCounts.reduce(0, +), validationTotal = validationCounts.reduce(0, +)

        let directory = out.deletingLastPathComponent()
        let temporary = URL(fileURLWithPath: try Sharing.broadcastString(
            directory.appendingPathComponent(".tmp-\(out.lastPathComponent)-\(getpid())").path, comm: comm))
        let trainPath = temporary.appendingPathComponent(PreparedDataset.trainName).path
        let validationPath = temporary.appendingPathComponent(PreparedDataset.validationName).path
        do {
            // Rank 0 makes the directory and the files at their full size, their headers written;
            // then each rank opens them.
            let vocabularyBytes = PreparedDataset.vocabularyFile(vocabulary)
            let vocabularyHash = SHA256.hash(vocabularyBytes)
            let made = try agree(comm) { () -> (TokenFileWriter, TokenFileWriter)? in
                guard comm.isRoot else { return nil }
                try FileIO.removeTree(temporary)
                guard mkdir(temporary.path, 0o755) == 0 else { throw FileIO.osError(temporary.path) }
                let files = (try TokenFileWriter(path: trainPath, width: width, count: trainTotal, creating: true),
                             try TokenFileWriter(path: validationPath, width: width, count: validationTotal, creating: true))
                for (file, count) in [(files.0, trainTotal), (files.1, validationTotal)] {
                    try file.writeHeader(TokenFileHeader(width: width, count: count, vocabularySize: vocabulary.count,
                                                         tokenizer: vocabulary.kind, vocabularyHash: vocabularyHash))
                }
                return files
            }
            let files = try agree(comm) {
                try made ?? (TokenFileWriter(path: trainPath, width: width, count: trainTotal, creating: false),
                             TokenFileWriter(path: validationPath, width: width, count: validationTotal, creating: false))
            }

            // Pass 2: every rank's ids at their place.
            passStart = ContinuousClock.now
            try agree(comm) {
                progress.start("encoding", total: myBytes)
                let encoder = TokenEncoder(vocabulary)
                var done = 0
                let parts = [(mine.train, files.0, trainCounts, plan.trainCuts.last!),
                             (mine.validation, files.1, validationCounts, plan.validationEnd)]
                for (range, file, counts, end) in parts {
                    let first = counts[..<comm.rank].reduce(0, +)
                    var index = first
                    let text = file === files.0 ? plan.text : plan.validationText
                    try text.forEachPiece(range, cut: plan.cut, pieceBytes: pieceBytes, endsText: range.upperBound == end) {
                        piece, source, offset, final in
                        let ids: Int
                        switch width {
                        case 1: ids = try write(piece, source, offset, final, UInt8.self, encoder, file, index)
                        case 2: ids = try write(piece, source, offset, final, UInt16.self, encoder, file, index)
                        default: ids = try write(piece, source, offset, final, UInt32.self, encoder, file, index)
                        }
                        index += ids
                        done += piece.count
                        try progress.update(done)
                    }
                    guard index - first == counts[comm.rank] else {
                        throw UserError("\(data.path): the text changed while prepare read it (\(counts[comm.rank]) tokens counted, \(index - first) encoded)")
                    }
                    try file.sync()
                }
            }
            ownSeconds += passStart.secondsAgo
            let seconds = try comm.allgather(ownSeconds)
            let bytes = try comm.allgather(Int64(myBytes))

            // Rank 0: the other files, the rename.
            try agree(comm) {
                guard comm.isRoot else { return }
                try FileIO.writeSynced(vocabularyBytes, to: temporary.appendingPathComponent(PreparedDataset.vocabularyName))
                // The two files' hashes side by side (the training file's is most of the work, and
                // shows the progress).
                progress.start("hashing", total: TokenFileHeader.size + trainTotal * width)
                var hashes: [Result<[UInt8], Error>] = Array(repeating: .success([]), count: 2)
                hashes.withUnsafeMutableBufferPointer { results in
                    DispatchQueue.concurrentPerform(iterations: 2) { i in
                        results[i] = Result {
                            try TokenFileHashes.fileHash(i == 0 ? trainPath : validationPath) { if i == 0 { try progress.update($0) } }
                        }
                    }
                }
                let manifest = CheckpointStore.manifest(digests: [
                    PreparedDataset.trainName: try hashes[0].get(), PreparedDataset.validationName: try hashes[1].get(),
                    PreparedDataset.vocabularyName: vocabularyHash])
                try FileIO.writeSynced(manifest, to: temporary.appendingPathComponent(CheckpointStore.manifestName))
                try FileIO.syncDirectory(temporary)
                try refuseExisting(out)
                guard rename(temporary.path, out.path) == 0 else { throw FileIO.osError(out.path) }
                try FileIO.syncDirectory(directory)
            }
            return Summary(textBytes: plan.textBytes, trainTokens: trainTotal, validationTokens: validationTotal,
                           vocabularySize: vocabulary.count, width: width,
                           seconds: started.secondsAgo,
                           rankRates: zip(bytes, seconds).map { Double($0) / max($1, 1e-9) })
        } catch {
            if comm.isRoot { try? FileIO.removeTree(temporary) }
            // Name the dataset the user asked for, not the temporary directory that is gone now.
            switch error {
            case let agreed as AgreedError:
                throw AgreedError(description: agreed.description.replacingOccurrences(of: temporary.path, with: out.path))
            case let user as UserError:
                throw UserError(user.description.replacingOccurrences(of: temporary.path, with: out.path))
            default:
                throw error
            }
        }
    }

    /// Encodes a piece as `T` ids and writes them at token `index` of `file`; returns how many.
    private static func write<T: FixedWidthInteger>(
        _ piece: UnsafeBufferPointer<UInt8>, _ source: String, _ offset: Int, _ final: Bool, _: T.Type,
        _ encoder: TokenEncoder, _ file: TokenFileWriter, _ index: Int
    ) throws -> Int {
        let ids = try encoder.encode(piece, source: source, offset: offset, final: final, as: T.self).ids
        try file.write(ids, at: index)
        return ids.count
    }

    /// `out` must not exist; what is there is named in the refusal.
    private static func refuseExisting(_ out: URL) throws {
        var info = stat()
        guard lstat(out.path, &info) != 0 else {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw UserError("\(out.path): already exists; prepare writes a new directory (remove it or name another)")
            }
            try FileIO.requireReplaceable(out.path)
            throw UserError("\(out.path): already exists (a file); prepare writes a new directory")
        }
        guard errno == ENOENT else { throw FileIO.osError(out.path) }
    }
}
