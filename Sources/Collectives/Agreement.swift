import Files

/// An error every rank knows about: the ranks agreed that one of them failed, and all stop
/// with the message of the lowest failing rank. Rank 0 prints it; every rank exits with 2.
public struct AgreedError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Runs `body` on every rank (a collective call: all ranks must make it). When it throws on
/// any rank, every rank throws `AgreedError` with the lowest failing rank's message, so a bad
/// file on one node ends the job at once instead of leaving the others waiting.
/// `body` itself must not call collectives.
public func agree<R>(_ comm: Communicator, _ body: () throws -> R) throws -> R {
    var result: R?
    var message = ""
    do { result = try body() } catch { message = UserError.describing(error) }
    if comm.size == 1 {
        guard let result else { throw AgreedError(description: message) }
        return result
    }
    let failed = try comm.allgather(Int64(result == nil ? 1 : 0))
    guard let first = failed.firstIndex(of: 1) else { return result! }
    var text = [UInt8](repeating: 0, count: 4096)
    if comm.rank == first {
        let bytes = Array(message.utf8.prefix(text.count - 1))
        text.replaceSubrange(0..<bytes.count, with: bytes)
    }
    try text.withUnsafeMutableBytes { try comm.broadcast($0, root: first) }
    let line = String(decoding: text.prefix { $0 != 0 }, as: UTF8.self)
    throw AgreedError(description: comm.size > 1 && first != 0 ? "rank \(first): \(line)" : line)
}
