import Collectives
import Foundation
import Training

/// The terminal view of a run: one line per log interval, redrawn in place on a TTY.
/// `step 120/5000 | loss 1.842 | val 1.901 | |g| 2.31 (clipped) | lr 2e-3 | 31.4k tok/s | ETA 4m10s`
public struct ProgressLine {
    // mpirun hands ranks a pty even when its own output goes to a file: ranks print plain lines.
    static let isTTY = isatty(STDOUT_FILENO) != 0 && !Launcher.isMPI
    private var tty: Bool { Self.isTTY }

    private let output: TrainingOutput

    public init(output: TrainingOutput) {
        self.output = output
    }

    public func show(step: Int, total: Int, loss: Double, validation: Double?, gradientNorm: Double, clipped: Bool,
                     skipped: Int, lr: Double, tokensPerSecond: Double, eta: Double, ranks: RankTimes? = nil) {
        var parts = ["step \(step)/\(total)", "loss \(String(format: "%.3f", loss))"]
        if let validation { parts.append("val \(String(format: "%.3f", validation))") }
        parts.append("|g| \(String(format: "%.2f", gradientNorm))\(clipped ? " (clipped)" : "")")
        if skipped > 0 { parts.append("skipped \(skipped)") }
        parts.append("lr \(String(format: "%.3g", lr))")
        parts.append("\(Self.compact(tokensPerSecond)) tok/s")
        if let ranks {
            // The share of a step spent in communication no rank hid, and whom the others wait for.
            let step = ranks.compute[ranks.slowestRank] + ranks.exposedWait
            parts.append(String(format: "comm %.0f%%", 100 * ranks.exposedWait / max(step, 1e-9)))
            parts.append("slowest r\(ranks.slowestRank)")
        }
        parts.append("ETA \(Self.duration(eta))")
        let line = parts.joined(separator: " | ")
        // A TTY keeps one live line, and a line with a validation loss stays on screen.
        if tty {
            output.write("\r\u{1B}[K" + line + (validation != nil ? "\n" : ""))
        } else {
            output.line(line)
        }
    }

    /// Ends a redrawn line before other output.
    public func finish() {
        if tty { output.line("") }
    }

    static func compact(_ x: Double) -> String {
        x >= 1000 ? String(format: "%.1fk", x / 1000) : String(format: "%.0f", x)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m\(s % 60)s" }
        return "\(s)s"
    }
}
