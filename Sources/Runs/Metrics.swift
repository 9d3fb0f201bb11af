import Files
import Foundation
import Training

/// `metrics.jsonl`: one JSON object per log interval, appended with one write per line so a
/// crash leaves at most a partial last line.
public final class MetricsLog {
    private let file: AppendingFile

    /// Opens (or creates) the log for appending. A partial last line, left by a run that died
    /// mid-append, is cut first (see `AppendingFile.dropPartialLastLine`), so the first record
    /// starts a line of its own instead of joining the fragment and being lost with it. The cut
    /// record is never lost work: it was written before that step's checkpoint, so a resumed run
    /// trains those steps again and logs them anew. A note on stderr says how much was cut.
    public init(url: URL) throws {
        file = try AppendingFile(path: url.path)
        let cut = try file.dropPartialLastLine()
        if cut > 0 {
            StandardError.line("rnntrain: \(url.path): cut a partial last record (\(cut) bytes) left by an interrupted run")
        }
    }

    /// Appends one record; keys keep the order given, a nil value leaves its key out. A number
    /// that is not finite (the loss of an interval whose every step was skipped) is written as
    /// null, as `JSON.number` writes it.
    public func append(_ fields: [(String, JSON?)]) throws {
        let record = JSON.object(fields.compactMap { key, value in value.map { (key, $0) } })
        try file.append(Array((record.text(.spaced) + "\n").utf8))
    }
}
