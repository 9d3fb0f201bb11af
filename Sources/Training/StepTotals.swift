import Models
import Kernels

/// This rank's signals for the step being summed: 1 for a pending SIGTERM, SIGINT, SIGUSR1.
typealias SignalRequests = (term: Int64, int: Int64, usr1: Int64)

/// What the sum over ranks gives besides the gradient.
struct StepTotals {
    /// Loss summed over the global batch; NaN when something could not be encoded.
    var loss: Double
    /// Scored target tokens of the global batch.
    var count: Double
    /// Scored positions whose most likely token was the target.
    var correct: Double
    /// Ranks with a pending SIGTERM, SIGINT, SIGUSR1.
    var requests: SignalRequests
    /// Weights and moments the ranks' last updates left outside the box of
    /// `Optimizer.updateIsFinite` (each rank counts its shard, or the whole buffer).
    var outOfBox: Int64
    /// Σ g² of the summed gradient, from its norm blocks (`BlockNorm`).
    var sumOfSquares = 0.0
}

/// The totals as Int64s, so their sum is exact in any order, travelling in the step's last sum
/// under the same timeout: [loss in fixed point, count, correct, values that could not be
/// encoded, then SIGTERM, SIGINT, SIGUSR1 requests, then weights and moments outside the box].
struct StepCounters {
    static let count = 8
    let base: UnsafeMutablePointer<Int64>

    /// The slot each reducer encodes its loss into, in its own way.
    var loss: Int64 {
        get { base[0] }
        nonmutating set { base[0] = newValue }
    }

    var buffer: UnsafeMutableBufferPointer<Int64> { UnsafeMutableBufferPointer(start: base, count: Self.count) }

    /// Everything but the loss.
    func store(_ local: LossSum, unencodable: Int, requests: SignalRequests, outOfBox: Int) {
        base[1] = Int64(local.count)
        base[2] = Int64(local.correct)
        base[3] = Int64(unencodable)
        (base[4], base[5], base[6]) = requests
        base[7] = Int64(outOfBox)
    }

    /// The totals, read after the sum.
    func totals() -> StepTotals {
        StepTotals(loss: base[3] == 0 ? Double(base[0]) / FixedPoint.scale : .nan, count: Double(base[1]),
                   correct: Double(base[2]), requests: (base[4], base[5], base[6]), outOfBox: base[7])
    }
}
