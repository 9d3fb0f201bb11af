import Collectives
import Config
import Kernels
import ModelSpec
import Models

/// The embedding rows that some rank's tokens looked up this step. Only they can have a nonzero
/// gradient, since the embedding's backward adds into the rows of its input tokens and nowhere
/// else, so the embedding's sum over ranks sends them packed and leaves the other rows, zero on
/// every rank, as they are. ptb-small's step of 400 tokens touches at most 400 of its 10,000 rows:
/// 0.3 MB on the wire in place of 8 MB, and the embedding is the tail backward hands over last.
///
/// Each rank marks the rows of its micro-batches' inputs; the marks' sum over ranks, started
/// before the last micro-batch's forward and advanced with the gradient's sums, gives every rank
/// the same rows in the same ascending order. A row is summed as it would be unpacked, and an
/// untouched row's sum is the zero it already holds, so the gradient is the same (deterministic
/// mode, whose sums are integers: bit for bit).
///
/// Sharded (`ParameterShards`), each owner gets the pieces of the rows in its shard, packed.
///
/// Only where it pays and nothing else writes the rows: several ranks, a recurrent model without
/// tied weights, the fp32 wire (the bf16 wire's residuals are nonzero in untouched rows), and a
/// step with fewer tokens than half the vocabulary.
final class TouchedRows {
    /// The embedding's floats in the gradient buffer: V rows of `width`.
    let range: Range<Int>
    let width: Int
    /// The most rows a step can touch: its tokens (B·τ, at most half the vocabulary here).
    let capacity: Int
    private let comm: Communicator
    /// 1 for each row this rank's inputs looked up, then summed over ranks [V] (Float: exact for
    /// any world size below 2^24, and half the bytes of Int64).
    private let marks: Buffer<Float>
    private var union: Reduction?
    private var failure: Error?
    /// Rows sent packed, and the steps that sent them, since the trainer began.
    private(set) var sent = (rows: 0, steps: 0)

    init?(config: TrainingConfig, model: Model<Float>, comm: Communicator) {
        let m = model.config
        guard Self.applies(config: config, model: m, ranks: comm.size) else { return nil }
        let embedding = model.layout["encoder.weight"]
        range = embedding.offset..<(embedding.offset + m.vocabulary * m.embedding)
        width = m.embedding
        capacity = config.train.globalBatch * config.train.seqLen
        self.comm = comm
        marks = Buffer(count: m.vocabulary)
    }

    /// Whether a run packs the embedding's rows (the conditions above).
    static func applies(config: TrainingConfig, model m: ModelConfig, ranks: Int) -> Bool {
        ranks > 1 && config.train.reduce == .fp32 && !m.isWindowedMLP && !m.tieWeights
            && 2 * config.train.globalBatch * config.train.seqLen <= m.vocabulary
    }

    /// What a run holds for this: the marks, and the reducer's buffer of packed rows (Float, or
    /// Int64 in deterministic mode); 0 where it does not apply.
    static func bytes(config: TrainingConfig, model m: ModelConfig, ranks: Int) -> Double {
        guard applies(config: config, model: m, ranks: ranks) else { return 0 }
        let packed = config.train.globalBatch * config.train.seqLen * m.embedding * (config.train.deterministic ? 8 : 4)
        return Double(4 * m.vocabulary + packed)
    }

    /// Before the step's first micro-batch.
    func beginStep() {
        marks.zero()
        union = nil
        failure = nil
    }

    /// Marks the rows `batch`'s inputs look up.
    func mark(_ batch: Batch) {
        let m = marks.base
        for token in batch.inputs where token >= 0 { m[Int(token)] = 1 }
    }

    /// After the last micro-batch is marked, before its forward: the marks' sum starts.
    func startUnion() throws {
        union = try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: marks.base, count: marks.count))
    }

    /// Lets the marks' sum advance; its error is thrown by `rows`.
    func poll() {
        do { _ = try union?.test() } catch { failure = failure ?? error }
    }

    /// The rows some rank touched, ascending, once the marks' sum is complete; nil when the step
    /// touched so many that packing them would not pay.
    func rows() throws -> [Int]? {
        if let failure { throw failure }
        guard let union else { preconditionFailure("the touched rows' sum was never started") }
        try comm.wait([union])
        let m = marks.base
        let rows = (0..<marks.count).filter { m[$0] != 0 }
        guard rows.count <= capacity, 2 * rows.count <= marks.count else { return nil }
        sent = (sent.rows + rows.count, sent.steps + 1)
        return rows
    }
}
