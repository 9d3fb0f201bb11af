import Foundation

/// SIGTERM, SIGINT and SIGUSR1, noted by a handler and acted on at the next step boundary by
/// every rank together (the requests travel in the step's sum, so all ranks stop at one step).
/// SIGTERM or SIGINT: checkpoint, then exit with 128 + the signal. SIGUSR1: checkpoint and go on.
/// A second SIGINT exits at once. SIGUSR2 stands for SIGTERM: mpirun forwards it to every rank,
/// while it answers SIGTERM itself by killing them.
public enum StopSignals {
    /// The first stopping signal received (SIGTERM or SIGINT), 0 for none.
    nonisolated(unsafe) public internal(set) static var stop: Int32 = 0
    /// SIGUSR1 received since the last step took it.
    nonisolated(unsafe) static var checkpoint: Int32 = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            switch signal {
            case SIGUSR1:
                StopSignals.checkpoint = 1
            case SIGINT where StopSignals.stop == SIGINT:
                _exit(128 + SIGINT)
            case SIGUSR2:
                if StopSignals.stop == 0 { StopSignals.stop = SIGTERM }
            default:
                if StopSignals.stop == 0 { StopSignals.stop = signal }
            }
        }
        for signal in [SIGTERM, SIGINT, SIGUSR1, SIGUSR2] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// This rank's requests for the step about to be summed: SIGTERM, SIGINT, SIGUSR1 counts.
    static func take() -> (term: Int64, int: Int64, usr1: Int64) {
        let usr1 = Int64(checkpoint)
        checkpoint = 0
        return (stop == SIGTERM ? 1 : 0, stop == SIGINT ? 1 : 0, usr1)
    }
}

/// The run stopped on a signal after writing its checkpoint; the process exits with `status`.
public struct Interrupted: Error, CustomStringConvertible {
    public let status: Int32
    public var description: String { "stopped by signal \(status - 128)" }

    public init(status: Int32) { self.status = status }
}
