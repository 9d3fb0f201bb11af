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

    /// Appends one record; keys keep the order given.
    public func append(_ fields: [(String, Any?)]) throws {
        let body = fields.compactMap { key, value -> String? in
            guard let value else { return nil }
            return "\"\(key)\": \(MetricsLog.json(value))"
        }.joined(separator: ", ")
        try handle.write(contentsOf: Data("{\(body)}\n".utf8))
    }

    static func json(_ value: Any) -> String {
        switch value {
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let d as Double: return d.isFinite ? "\(d)" : "null"
        case let s as String: return "\"\(s)\""
        default: return "null"
        }
    }
}
