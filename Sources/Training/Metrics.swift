import Files
import Foundation

/// `metrics.jsonl`: one JSON object per log interval, appended with one write per line so a
/// crash leaves at most a partial last line.
public final class MetricsLog {
    private let handle: FileHandle

    public init(url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw UserError("\(url.path): cannot create the metrics file")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw UserError("\(url.path): cannot open for appending (\(error.localizedDescription))")
        }
    }

    deinit { try? handle.close() }

    /// Appends one record; keys keep the order given, a nil value leaves its key out.
    public func append(_ fields: [(String, JSON?)]) throws {
        let record = JSON.object(fields.compactMap { key, value in value.map { (key, $0) } })
        try handle.write(contentsOf: Data((record.text(.spaced) + "\n").utf8))
    }
}
