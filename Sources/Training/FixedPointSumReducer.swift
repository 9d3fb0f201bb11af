import Collectives
import Models
import Kernels

/// Deterministic mode: sums the gradient over ranks in 64-bit fixed point, so the result is
/// bit-identical whatever the world size. Each micro-batch (a fixed group of sequences) is
/// back-propagated on its own and added into the fixed-point gradient, the last one range by
/// range during its backward; integer sums do not depend on how they are split. On the bf16
/// wire each group rounds its gradient with its own residual (`BF16Wire`, one unit per group of
/// this rank) before it is added, so the rounding too is the same at every world size.
final class FixedPointSumReducer: GradientReducer {
    private let gradients: Buffer<Float>
    private let sums: SumsInFlight
    private let closing: ClosingSum
    /// The gradient in fixed point.
    private let fixed: Buffer<Int64>
    let wire: BF16Wire?
    /// The embedding's touched rows, sent packed (`TouchedRows`), and where they are packed.
    private let touched: TouchedRows?
    private let packed: Buffer<Int64>?
    private var local = LossSum()
    /// Gradient entries not finite or too large to encode (they add 0).
    private var unencodable = 0

    init(gradients: Buffer<Float>, comm: Communicator, shards: ParameterShards?, groups: Int, bf16Wire: Bool,
         touched: TouchedRows?) {
        self.gradients = gradients
        self.touched = touched
        packed = touched.map { Buffer(count: $0.capacity * $0.width) }
        sums = SumsInFlight(comm: comm, shards: shards)
        closing = ClosingSum(gradients: gradients, comm: comm, shards: shards)
        fixed = Buffer(count: gradients.count)
        wire = bf16Wire ? BF16Wire(count: gradients.count, units: groups, sends: false) : nil
    }

    func beginStep() {
        sums.reset()
        fixed.zero()
        closing.counters.buffer.update(repeating: 0)
        local = LossSum()
        unencodable = 0
    }

    func beginMicroBatch(_ m: Int, last: Bool) -> Model<Float>.BackwardObserver? {
        // Each group's gradient is encoded on its own, so the sum does not depend on the split.
        gradients.zero()
        guard last else { return nil }
        return Model.BackwardObserver(
            ready: { [unowned self] range in
                wire?.round(range, of: gradients.base, unit: m)
                let lo = range.lowerBound, n = range.count
                unencodable += FixedPoint.accumulate(gradients.base + lo, into: fixed.base + lo, count: n)
                sums.start(range, of: fixed.base, packing: touched, into: packed?.base)
            },
            poll: { [sums, touched] in sums.poll(); touched?.poll() })
    }

    func endMicroBatch(_ m: Int, _ part: LossSum, last: Bool) throws {
        try sums.throwFailure()
        local += part
        if !last {
            wire?.round(0..<gradients.count, of: gradients.base, unit: m)
            unencodable += FixedPoint.accumulate(gradients.base, into: fixed.base, count: gradients.count)
        }
        closing.counters.loss &+= FixedPoint.encode(part.loss)
    }

    func finish(requests: SignalRequests, outOfBox: Int) throws -> StepTotals {
        closing.counters.store(local, unencodable: unencodable, requests: requests, outOfBox: outOfBox)
        // Outside the shard the gradient keeps this rank's last group; the next step zeroes it.
        let fixed = fixed, g = gradients.base
        return try closing.finish(sums) { range in
            FixedPoint.decode(fixed.base + range.lowerBound, into: g + range.lowerBound, count: range.count)
        }
    }
}
