import Dispatch
import Foundation

/// How a backend waits in a collective without hanging the job: it polls the collective, lets
/// the rank answer liveness pings meanwhile, and after `timeout` seconds asks which ranks do not
/// answer and throws `StallError`. The backend supplies the three operations; a poll-driven
/// backend (Open MPI moves a non-blocking collective only inside MPI calls) needs nothing else.
public struct StallWatch {
    /// Seconds a collective may wait (train.step_timeout).
    public var timeout = Double.infinity
    /// The training step, for the message.
    public var step = 0

    public init() {}

    /// How long a pinged rank has to answer: a rank waiting in a collective answers within
    /// one poll, so a quarter of the timeout, 1 to 5 s, separates waiting from stuck.
    public var grace: Double { min(5.0, max(1.0, timeout / 4)) }

    /// Polls `done` until it holds, calling `answerPings` between polls; after `timeout`
    /// seconds throws `StallError` with the ranks `unresponsiveRanks` names.
    public func wait(in operation: String, until done: () throws -> Bool, answeringPings answerPings: () throws -> Void,
                     unresponsiveRanks: () throws -> [Int]) throws {
        let start = Self.now()
        // A short backoff: a sum over shared memory completes in microseconds.
        var pause: UInt32 = 1
        while try !done() {
            try answerPings()
            let waited = Self.now() - start
            if waited > timeout {
                throw StallError(step: step, seconds: waited, operation: operation, missing: try unresponsiveRanks())
            }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

    /// Seconds on the monotonic clock the rest of rnntrain times with.
    public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
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
