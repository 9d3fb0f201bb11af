import Clock
import Collectives
import Files
import Foundation
import Glibc

/// `prepare`'s live line on a terminal: `prepare: encoding 61.2/100.0 MB, 312 MB/s`, rewritten
/// with "\r" at most ten times a second, on standard error when it is a terminal and the process
/// is not one of an MPI job's ranks (mpirun hands ranks a pty even when its own output goes to a
/// file, as `ProgressLine` notes). Nothing otherwise.
///
/// Every update also asks `stopped` whether a signal asked the process to stop (Ctrl-C,
/// SIGTERM): then it throws, so that a preparation of gigabytes stops within a piece and removes
/// its partial files instead of running to its end or dying with them in place.
final class PrepareProgress {
    private let shown: Bool
    private let stopped: () -> Int32
    private var phase = ""
    private var total = 0
    private var started = ContinuousClock.now
    private var lastDrawn: Instant?

    init(stopped: @escaping () -> Int32, enabled: Bool = isatty(STDERR_FILENO) != 0 && !Launcher.isMPI) {
        self.stopped = stopped
        shown = enabled
    }

    /// Starts a phase over `total` bytes.
    func start(_ phase: String, total: Int) {
        self.phase = phase
        self.total = total
        started = ContinuousClock.now
        lastDrawn = nil
    }

    /// `done` of the phase's bytes are done; throws when a signal asked the process to stop.
    func update(_ done: Int) throws {
        let signal = stopped()
        if signal != 0 {
            throw UserError("stopped by signal \(signal) (\(String(cString: strsignal(signal)))) before the dataset was complete; its partial files are removed")
        }
        guard shown else { return }
        let now = ContinuousClock.now
        guard lastDrawn.map({ now - $0 >= .milliseconds(100) }) ?? true || done == total else { return }
        lastDrawn = now
        let seconds = (now - started).seconds
        let rate = seconds > 0 ? Double(done) / 1e6 / seconds : 0
        StandardError.write(String(format: "\r\u{1B}[Kprepare: %@ %.1f/%.1f MB, %.0f MB/s", phase, Double(done) / 1e6, Double(total) / 1e6, rate))
    }

    /// Clears the line before other output.
    func finish() {
        if shown { StandardError.write("\r\u{1B}[K") }
    }
}
