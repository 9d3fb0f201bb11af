import Collectives
import Models
import Kernels

/// Sums the gradient over ranks in Float, in place: micro-batches add into one gradient and
/// the last one's backward hands it over range by range. On the bf16 wire (`BF16Wire`, one unit:
/// this rank) each range is rounded with error feedback and its bf16 values are summed instead.
final class FloatSumReducer: GradientReducer {
    private let gradients: Buffer<Float>
    private let sums: SumsInFlight
    private let closing: ClosingSum
    /// The floats whose sum lands here: all of them, or this rank's shard.
    private let mine: Range<Int>
    let wire: BF16Wire?
    /// The embedding's touched rows, sent packed (`TouchedRows`), and where they are packed.
    private let touched: TouchedRows?
    private let packed: Buffer<Float>?
    private var local = LossSum()

    init(gradients: Buffer<Float>, comm: Communicator, shards: ParameterShards?, bf16Wire: Bool, touched: TouchedRows?) {
        self.gradients = gradients
        self.touched = touched
        packed = touched.map { Buffer(count: $0.capacity * $0.width) }
        sums = SumsInFlight(comm: comm, shards: shards)
        closing = ClosingSum(gradients: gradients, comm: comm, shards: shards)
        mine = shards?.ranges[comm.rank] ?? 0..<gradients.count
        wire = bf16Wire ? BF16Wire(count: gradients.count, units: 1, sends: true) : nil
    }

    func beginStep() {
        sums.reset()
        local = LossSum()
    }

    func beginMicroBatch(_ m: Int, last: Bool) -> Model<Float>.BackwardObserver? {
        guard last else { return nil }
        let g = gradients.base, sums = sums
        guard let wire else {
            let touched = touched, packed = packed?.base
            return Model.BackwardObserver(ready: { range in sums.start(range, of: g, packing: touched, into: packed) },
                                          poll: { sums.poll(); touched?.poll() })
        }
        return Model.BackwardObserver(
            ready: { range in
                wire.send(range, of: g, unit: 0)
                sums.start(range, ofBF16: wire.wire.base)
            },
            poll: { sums.poll() })
    }

    func endMicroBatch(_ m: Int, _ part: LossSum, last: Bool) throws {
        try sums.throwFailure()
        local += part
    }

    func finish(requests: SignalRequests, outOfBox: Int) throws -> StepTotals {
        let c = closing.counters
        let loss = FixedPoint.encode(local.loss)
        c.loss = loss == Int64.max ? 0 : loss
        c.store(local, unencodable: loss == Int64.max ? 1 : 0, requests: requests, outOfBox: outOfBox)
        let g = gradients.base, wire = wire
        let totals = try closing.finish(sums) { range in wire?.receive(range, into: g) }
        // Outside the shard is this rank's own gradient, unsummed: the update clears only what
        // it reads, and the next step adds into a zero gradient.
        g.update(repeating: 0, count: mine.lowerBound)
        (g + mine.upperBound).update(repeating: 0, count: gradients.count - mine.upperBound)
        return totals
    }
}
