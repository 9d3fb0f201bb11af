import Collectives
import Models
import Kernels

/// Sums the gradient over ranks in Float, in place: micro-batches add into one gradient and
/// the last one's backward hands it over range by range.
final class FloatSumReducer: GradientReducer {
    private let comm: Communicator
    private let gradients: Buffer<Float>
    private let sums: SumsInFlight
    private let counters = Buffer<Int64>(count: StepCounters.count)
    private var local = LossSum()

    init(gradients: Buffer<Float>, comm: Communicator) {
        self.comm = comm
        self.gradients = gradients
        sums = SumsInFlight(comm: comm)
    }

    func beginStep() {
        sums.reset()
        local = LossSum()
    }

    func beginMicroBatch(last: Bool) -> Model<Float>.BackwardObserver? {
        guard last else { return nil }
        let g = gradients.base, sums = sums, comm = comm
        return Model.BackwardObserver(
            ready: { range in
                sums.start { try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: g + range.lowerBound, count: range.count)) }
            },
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
        return c.totals()
    }
}
