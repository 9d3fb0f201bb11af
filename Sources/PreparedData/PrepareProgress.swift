import Clock
import Collectives
import Files
import Foundation
import Glibc

/// `prepare`'s live line on a terminal: `prepare: encoding 61.2/100.0 MB, 312 MB/s`, rewritten
/// with "\r" at most ten times a second, on standard error when it is a terminal and the process
/// is not one of an MPI job's ranks (mpirun hands ranks a pty even when its own output goes to a
/// file, as `ProgressLine` notes). Nothing otherwise.
final class PrepareProgress {
    private let shown: Bool
    private var phase = ""
    private var total = 0
    private var started = ContinuousClock.now
    private var lastDrawn: Instant?

    init(enabled: Bool = isatty(STDERR_FILENO) != 0 && !Launcher.isMPI) {
        shown = enabled
    }

    /// Starts a phase over `total` bytes.
    func start(_ phase: String, total: Int) {
        self.phase = phase
        self.total = total
        started = ContinuousClock.now
        lastDrawn = nil
    }

    /// `done` of the phase's bytes are done.
    func update(_ done: Int) {
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
