import Collectives
import Models
import Kernels

/// Deterministic mode: sums the gradient over ranks in 64-bit fixed point, so the result is
/// bit-identical whatever the world size. Each micro-batch (a fixed group of sequences) is
/// back-propagated on its own and added into the fixed-point gradient, the last one range by
/// range during its backward; integer sums do not depend on how they are split.
final class FixedPointSumReducer: GradientReducer {
    private let comm: Communicator
    private let gradients: Buffer<Float>
    private let sums: SumsInFlight
    /// The gradient in fixed point, then the step's counters.
    private let fixed: Buffer<Int64>
    private var counters: StepCounters { StepCounters(base: fixed.base + gradients.count) }
    /// The floats whose sum lands here: all of them, or this rank's shard.
    private let mine: Range<Int>
    private var local = LossSum()
    /// Gradient entries not finite or too large to encode (they add 0).
    private var unencodable = 0

    init(gradients: Buffer<Float>, comm: Communicator, shards: ParameterShards?) {
        self.comm = comm
        self.gradients = gradients
        sums = SumsInFlight(comm: comm, shards: shards)
        mine = shards?.ranges[comm.rank] ?? 0..<gradients.count
        fixed = Buffer(count: gradients.count + StepCounters.count)
    }

    func beginStep() {
        sums.reset()
        fixed.zero()
        local = LossSum()
        unencodable = 0
    }

    func beginMicroBatch(last: Bool) -> Model<Float>.BackwardObserver? {
        // Each group's gradient is encoded on its own, so the sum does not depend on the split.
        gradients.zero()
        guard last else { return nil }
        return Model.BackwardObserver(
            ready: { [unowned self] range in
                let lo = range.lowerBound, n = range.count
                unencodable += FixedPoint.accumulate(gradients.base + lo, into: fixed.base + lo, count: n)
                sums.start(range, of: fixed.base)
            },
            poll: { [sums] in sums.poll() })
    }

    func endMicroBatch(_ part: LossSum, last: Bool) throws {
        try sums.throwFailure()
        local += part
        if !last { unencodable += FixedPoint.accumulate(gradients.base, into: fixed.base, count: gradients.count) }
        counters.loss &+= FixedPoint.encode(part.loss)
    }

    func finish(requests: SignalRequests) throws -> StepTotals {
        let c = counters
        c.store(local, unencodable: unencodable, requests: requests)
        try sums.wait(with: try comm.startAllreduceSum(c.buffer))
        // Outside the shard the gradient keeps this rank's last group; the next step zeroes it.
        FixedPoint.decode(fixed.base + mine.lowerBound, into: gradients.base + mine.lowerBound, count: mine.count)
        return c.totals()
    }
}
