import Files
import Foundation
import Training

/// Rank 0's lines on standard output during training, written with checked writes.
///
/// A failed write (a full disk under `> log`, a closed pipe) does not stop training: the work is
/// in the checkpoints and every logged number is also in `metrics.jsonl`. The first failure is
/// said once on stderr, later lines are dropped, and `lost` makes the run end with status 2, so a
/// run whose output was lost never reports success.
public final class TrainingOutput {
    /// The first failed write's reason ("standard output: No space left on device").
    public private(set) var lost: String?

    public init() {}

    public func write(_ text: String) {
        guard lost == nil else { return }
        do {
            try StandardOutput.write(text)
        } catch {
            lost = "\(error)"
            StandardError.line("rnntrain: \(error); training goes on, metrics.jsonl keeps the log")
        }
    }

    public func line(_ text: String) { write(text + "\n") }
}
