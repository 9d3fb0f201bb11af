import Files
import Foundation
import Glibc
import SwiftProtobuf

/// One TensorBoard event file, `DIR/events.out.tfevents.<T>.<host>`: TFRecord-framed `Event`
/// protocol buffers, appended one whole record per write(2) (`AppendingFile.append`), so a crash
/// leaves at most a partial last record, which TensorBoard's reader stops at and skips.
///
/// Every session (a fresh start or a resume) writes a file of its own and never appends to an
/// older one, whose last record a crash may have cut. TensorBoard reads a directory's event
/// files in the order of their names and shows them as one run; so `T`, the Unix time in the
/// name, is also made larger than that of every event file already in the directory, which
/// keeps the name order the writing order when two sessions start within one second.
public final class EventFile {
    public let url: URL
    private let file: AppendingFile

    /// "brain.Event:2": from version 2 on, TensorBoard drops the data of a restarted session on
    /// its SessionLog START event (below), not on any step that goes back.
    static let fileVersion = "brain.Event:2"

    /// Creates `directory` (and its parents) when missing and a new event file in it, then writes
    /// the file version and a SessionLog START at `firstStep`, the first step this session logs:
    /// TensorBoard then forgets what earlier files hold for steps ≥ `firstStep`, the records a
    /// crashed session wrote after its last checkpoint, which this session trains and logs again.
    /// `directory` itself may not be a link: it is a run's own (tb/ by default).
    public init(directory: URL, firstStep: Int, host: String = EventFile.hostName(),
                now: Double = Date().timeIntervalSince1970) throws {
        try FileIO.makeDirectories(directory.deletingLastPathComponent())
        try FileIO.makeOwnDirectory(directory)
        let time = max(Int(now), (try Self.newestTime(in: directory) ?? -1) + 1)
        url = directory.appendingPathComponent("events.out.tfevents.\(time).\(host)")
        file = try AppendingFile(path: url.path, new: true)
        var version = Tensorboard_Event()
        version.wallTime = now
        version.fileVersion = Self.fileVersion
        var start = Tensorboard_Event()
        start.wallTime = now
        start.step = Int64(firstStep)
        start.sessionLog.status = .start
        try file.append(TFRecord.frame(try version.serializedBytes()) + TFRecord.frame(try start.serializedBytes()))
    }

    /// Appends one event holding `scalars` at `step`, one record in one write; a failed write
    /// throws "<path>: <reason>" and may leave part of that record at the end of the file.
    public func write(scalars: [(tag: String, value: Float)], step: Int, wallTime: Double) throws {
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        event.summary.value = scalars.map { scalar in
            var value = Tensorboard_Summary.Value()
            value.tag = scalar.tag
            value.simpleValue = scalar.value
            return value
        }
        try file.append(TFRecord.frame(try event.serializedBytes()))
    }

    /// The largest `T` of the `events.out.tfevents.<T>.…` files in `directory`; nil when none.
    static func newestTime(in directory: URL) throws -> Int? {
        let prefix = "events.out.tfevents."
        return try FileIO.names(in: directory).compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
        }.max()
    }

    /// This machine's name, as gethostname(2) gives it ("localhost" if it fails).
    public static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        let text = String(cString: name)
        return text.isEmpty ? "localhost" : text
    }
}
