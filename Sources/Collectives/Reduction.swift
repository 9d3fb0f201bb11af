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

/// A collective waited longer than the timeout.
public struct StallError: Error, CustomStringConvertible {
    public let step: Int
    public let seconds: Double
    /// What the rank was waiting in.
    public let operation: String
    /// Ranks that did not answer a liveness ping: busy elsewhere, hung or stopped. Empty when
    /// every rank answered, so the collective itself did not advance (a network fault).
    public let missing: [Int]

    public var description: String {
        let who = missing.isEmpty ? "\(operation) (every rank answers)"
            : (missing.count == 1 ? "rank \(missing[0])" : "ranks \(missing.map(String.init).joined(separator: ", "))")
        return "\(who) made no progress for \(Int(seconds)) s at step \(step) (train.step_timeout); aborting the job"
    }
}
