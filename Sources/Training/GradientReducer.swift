import Models

/// The sum over ranks of one step's gradient and totals, in two kinds: `FloatSumReducer` and
/// the deterministic `FixedPointSumReducer`.
///
/// The last micro-batch's backward finishes the gradient range by range (`Model.BackwardObserver`);
/// each range's sum starts at once and advances at every poll while backward goes on, because
/// Open MPI moves a non-blocking sum only inside MPI calls (it has no progress thread for shared
/// memory and TCP). The step then waits only
/// for what backward could not hide.
protocol GradientReducer: AnyObject {
    /// The bf16 wire's error feedback (`train.reduce: bf16`); nil on the fp32 wire.
    var wire: BF16Wire? { get }
    /// Before the step's first micro-batch.
    func beginStep()
    /// Before micro-batch `m`'s forward pass; what is to watch its backward (the last one's only).
    func beginMicroBatch(_ m: Int, last: Bool) -> Model<Float>.BackwardObserver?
    /// After micro-batch `m`'s backward, with its loss. Throws the first error of a sum started
    /// during that backward, which the observer could not throw.
    func endMicroBatch(_ m: Int, _ part: LossSum, last: Bool) throws
    /// After the last micro-batch: sums this rank's totals, signal requests and count of values
    /// its last update left outside the box (`Optimizer.updateIsFinite`) with the gradient,
    /// waits for every sum, and leaves the summed gradient in the model's buffer (its shard only,
    /// when the update is sharded: the rest of the buffer is not the sum). The totals carry the
    /// summed gradient's Σ g².
    func finish(requests: SignalRequests, outOfBox: Int) throws -> StepTotals
}
