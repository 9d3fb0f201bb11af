import Config
import Files
import Foundation
import TensorBoard
import Training

/// Rank 0's TensorBoard view of `metrics.jsonl` (`log.tensorboard`): each record's numbers as
/// scalars at the record's step, one event (one write) per log interval, in a new event file per
/// session (see `EventFile`).
///
/// A failed write does not stop training, as for standard output (`TrainingOutput`): the work is
/// in the checkpoints and every number is also in `metrics.jsonl`. The first failure is said once
/// on stderr and later records are dropped (the file may end in part of the failed record, which
/// TensorBoard skips); `lost` then makes the run end with status 2, so a run whose event file is
/// incomplete never reports success.
final class TensorBoardLog {
    /// Each metrics key's tag. TensorBoard groups charts by the text before the first "/", so
    /// training and validation loss share one group; the key itself follows the "/", so a tag
    /// names its `metrics.jsonl` field. A key missing here keeps its own name as its tag.
    static let tags: [String: String] = [
        "loss": "loss/loss", "val_loss": "loss/val_loss",
        "grad_norm": "train/grad_norm", "clipped": "train/clipped", "skipped": "train/skipped",
        "lr": "train/lr", "tokens": "train/tokens",
        "tokens_per_s": "speed/tokens_per_s", "compute_s": "speed/compute_s",
        "exposed_comm_s": "speed/exposed_comm_s", "slowest_rank": "speed/slowest_rank",
        "elapsed_s": "run/elapsed_s", "checkpoints_failed": "run/checkpoints_failed",
    ]

    let file: EventFile
    /// "<path>: <reason>; the event file ends before step N", after the first failed write.
    private(set) var lost: String?

    /// The event file of this session in `directory`, starting at `firstStep`; a directory that
    /// cannot be made or written names `log.tensorboard` and the path.
    init(directory: URL, firstStep: Int) throws {
        do {
            file = try EventFile(directory: directory, firstStep: firstStep)
        } catch {
            throw UserError("log.tensorboard: \(UserError.describing(error))")
        }
    }

    /// The directory `setting` names for a run in `runDirectory`; nil when it is off.
    static func directory(_ setting: TensorBoardOutput, runDirectory: URL) -> URL? {
        switch setting {
        case .off: return nil
        case .runDirectory: return runDirectory.appendingPathComponent("tb")
        case let .directory(path): return URL(fileURLWithPath: path)
        }
    }

    /// Writes the numbers of one metrics record, `fields` as `MetricsLog.append` takes them: its
    /// "step" is the event's step, every other number a scalar (a `null`, a non-finite value, as
    /// NaN), rounded to Float as TensorBoard stores it; absent values are left out.
    func append(_ fields: [(String, JSON?)]) {
        guard lost == nil else { return }
        var step = 0
        var scalars: [(tag: String, value: Float)] = []
        for (key, value) in fields {
            guard let value else { continue }
            let number: Double
            switch value {
            case let .number(text): number = Double(text) ?? .nan
            case .null: number = .nan
            default: continue
            }
            if key == "step" {
                step = Int(number)
            } else {
                scalars.append((Self.tags[key] ?? key, Float(number)))
            }
        }
        do {
            try file.write(scalars: scalars, step: step, wallTime: Date().timeIntervalSince1970)
        } catch {
            let reason = "\(UserError.describing(error)); the event file ends before step \(step)"
            lost = reason
            StandardError.line("rnntrain: \(reason); training goes on, metrics.jsonl keeps the log")
        }
    }
}
