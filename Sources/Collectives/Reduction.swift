import CMPI

/// A sum started with `Communicator.startAllreduceSum`, complete after `Communicator.wait`.
public final class Reduction {
    /// Open MPI's request while in flight.
    var request: MPI_Request?
    public internal(set) var isComplete: Bool

    /// A reduction with no request has finished (one process).
    init(request: MPI_Request?) {
        self.request = request
        isComplete = request == nil
    }
}

/// Ranks did not reach a step's reduction within the step timeout.
public struct StallError: Error, CustomStringConvertible {
    public let step: Int
    public let seconds: Double
    /// Ranks that had not announced the step; empty when all had but the sum still did not finish.
    public let missing: [Int]

    public var description: String {
        let who = missing.isEmpty ? "the reduction"
            : (missing.count == 1 ? "rank \(missing[0])" : "ranks \(missing.map(String.init).joined(separator: ", "))")
        return "\(who) made no progress for \(Int(seconds)) s at step \(step) (train.step_timeout); aborting the job"
    }
}
