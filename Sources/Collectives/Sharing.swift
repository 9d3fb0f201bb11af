/// Rank 0's bytes on every rank: the length goes first so the others can make room.
public enum Sharing {
    public static func broadcast(_ bytes: [UInt8], comm: Communicator) throws -> [UInt8] {
        guard comm.size > 1 else { return bytes }
        var count = Int64(bytes.count)
        try withUnsafeMutableBytes(of: &count) { try comm.broadcast($0, root: 0) }
        var out = comm.isRoot ? bytes : [UInt8](repeating: 0, count: Int(count))
        try out.withUnsafeMutableBytes { try comm.broadcast($0, root: 0) }
        return out
    }

    public static func broadcastString(_ text: String, comm: Communicator) throws -> String {
        String(decoding: try broadcast(Array(text.utf8), comm: comm), as: UTF8.self)
    }
}
