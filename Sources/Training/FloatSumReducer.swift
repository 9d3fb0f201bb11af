import Collectives
import Models
import Kernels

/// Sums the gradient over ranks in Float, in place: micro-batches add into one gradient and
/// the last one's backward hands it over range by range.
final class FloatSumReducer: GradientReducer {
    private let comm: Communicator
    private let gradients: Buffer<Float>
    private let sums: SumsInFlight
    /// The floats whose sum lands here: all of them, or this rank's shard.
    private let mine: Range<Int>
    private let counters = Buffer<Int64>(count: StepCounters.count)
    private var local = LossSum()

    init(gradients: Buffer<Float>, comm: Communicator, shards: ParameterShards?) {
        self.comm = comm
        self.gradients = gradients
        sums = SumsInFlight(comm: comm, shards: shards)
        mine = shards?.ranges[comm.rank] ?? 0..<gradients.count
    }

    func beginStep() {
        sums.reset()
        local = LossSum()
    }

    func beginMicroBatch(last: Bool) -> Model<Float>.BackwardObserver? {
        guard last else { return nil }
        let g = gradients.base, sums = sums
        return Model.BackwardObserver(
            ready: { range in sums.start(range, of: g) },
            poll: { sums.poll() })
    }

    func endMicroBatch(_ part: LossSum, last: Bool) throws {
        try sums.throwFailure()
        local += part
    }

    func finish(requests: SignalRequests) throws -> StepTotals {
        let c = StepCounters(base: counters.base)
        let loss = FixedPoint.encode(local.loss)
        c.loss = loss == Int64.max ? 0 : loss
        c.store(local, unencodable: loss == Int64.max ? 1 : 0, requests: requests)
        try sums.wait(with: try comm.startAllreduceSum(c.buffer))
        // Outside the shard is this rank's own gradient, unsummed: the update clears only what
        // it reads, and the next step adds into a zero gradient.
        gradients.base.update(repeating: 0, count: mine.lowerBound)
        (gradients.base + mine.upperBound).update(repeating: 0, count: gradients.count - mine.upperBound)
        return c.totals()
    }
}
