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
    /// Before the step's first micro-batch.
    func beginStep()
    /// Before a micro-batch's forward pass; what is to watch its backward (the last one's only).
    func beginMicroBatch(last: Bool) -> Model<Float>.BackwardObserver?
    /// After a micro-batch's backward, with its loss. Throws the first error of a sum started
    /// during that backward, which the observer could not throw.
    func endMicroBatch(_ part: LossSum, last: Bool) throws
    /// After the last micro-batch: sums this rank's totals and signal requests with the
    /// gradient, waits for every sum, and leaves the summed gradient in the model's buffer (its
    /// shard only, when the update is sharded: the rest of the buffer is not the sum).
    func finish(requests: SignalRequests) throws -> StepTotals
}
