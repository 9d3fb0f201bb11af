extension Communicator {
    /// Sends a byte array of any length to `peer`: its length, then the bytes.
    public func sendBytes(_ bytes: [UInt8], to peer: Int) throws {
        var count = UInt64(bytes.count)
        try withUnsafeBytes(of: &count) { try send($0, to: peer) }
        try bytes.withUnsafeBytes { try send($0, to: peer) }
    }

    /// Receives what `peer` sends with `sendBytes(_:to:)`.
    public func receiveBytes(from peer: Int) throws -> [UInt8] {
        var count: UInt64 = 0
        try withUnsafeMutableBytes(of: &count) { try receive(into: $0, from: peer) }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        try bytes.withUnsafeMutableBytes { try receive(into: $0, from: peer) }
        return bytes
    }

    /// Combines every rank's `value` over a binary tree rooted at rank 0 (a collective call):
    /// in round k, with stride s = 2^k, each rank r with r mod 2s = s sends its value, encoded,
    /// to rank r − s, which decodes it and combines it with its own. Returns the combination of
    /// all ranks' values on rank 0, nil on the others.
    ///
    /// ⌈log2 size⌉ rounds, the merges of one round running in parallel on different ranks. A rank
    /// holds at most three values at once (its own, the one received and their combination), so
    /// when `combine` never makes a value larger than the combination of all (as a merge of
    /// counts does), no rank ever holds more than three times the final value: never every
    /// rank's value at once. `combine` must be associative and commutative for the result to be
    /// the same at every world size.
    public func treeReduce<T>(_ value: T, encode: (T) -> [UInt8], decode: ([UInt8]) throws -> T,
                              combine: (T, T) throws -> T) throws -> T? {
        var value = value
        var stride = 1
        while stride < size {
            if rank % (2 * stride) == stride {
                try sendBytes(encode(value), to: rank - stride)
                return nil
            }
            if rank % (2 * stride) == 0, rank + stride < size {
                let other = try decode(try receiveBytes(from: rank + stride))
                value = try combine(value, other)
            }
            stride *= 2
        }
        return rank == 0 ? value : nil
    }
}
