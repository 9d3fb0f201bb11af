/// What data-parallel training needs from the ranks of a job: sums, broadcasts and gathers of
/// flat buffers. Collectives know nothing of models, and this protocol nothing of MPI.
///
/// Every rank must make the same calls in the same order with the same sizes. A collective that
/// waits longer than `timeout` seconds throws `StallError` naming the ranks that stopped
/// answering, so a hung or stopped rank ends the job instead of freezing it.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Seconds any collective may wait (train.step_timeout); infinity until set.
    var timeout: Double { get set }
    /// The training step the rank is at, for messages.
    var step: Int { get set }
    /// Each rank's host, indexed by rank, for messages that say where something is.
    var hosts: [String] { get }
    /// In-place elementwise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws
    /// Starts an in-place sum that completes in the background; the buffer must stay untouched
    /// until `wait` returns.
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction
    /// Starts a sum over all ranks that lands on `root` only, in place there; the other ranks'
    /// buffers are read, not changed, and must stay untouched until `wait` returns. The sharded
    /// update's reduce-scatter is one of these per piece of a finished gradient range, to the
    /// piece's owner.
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> Reduction
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>, root: Int) throws -> Reduction
    /// The same two sums of bf16 values (bit patterns): each addition is taken in Float and
    /// rounded back to bf16 (to nearest, ties to even), so every step of the reduction rounds
    /// once and 2 bytes per value cross the wire (`train.reduce: bf16`).
    func startAllreduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>) throws -> Reduction
    func startReduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>, root: Int) throws -> Reduction
    /// Advances reductions in flight without blocking (Open MPI moves a non-blocking collective
    /// only inside MPI calls); true when all are complete.
    func test(_ reductions: [Reduction]) throws -> Bool
    /// Completes `reductions`, within `timeout`.
    func wait(_ reductions: [Reduction]) throws
    /// Copies `root`'s bytes into every rank's buffer (same byte count everywhere).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Concatenates every rank's `send` (same byte count everywhere) in rank order into
    /// `receive` on `root` (size × send.count bytes there; ignored elsewhere).
    func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws
    /// Concatenates every rank's `send` (same byte count everywhere) in rank order into every
    /// rank's `receive` (size × send.count bytes).
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws
    /// In place: rank r's part `parts[r]` of `buffer` (element ranges, in rank order, covering
    /// it once) is copied into every other rank's buffer.
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws
    /// Rank r's `send` (`parts[r].count` elements) lands at `parts[r]` of `receive` on `root`
    /// (ignored elsewhere).
    func gather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>?, parts: [Range<Int>],
                root: Int) throws
    func barrier() throws
    /// Sends `bytes` to rank `peer`, which receives them with `receive(into:from:)` of the same
    /// byte count; the two calls are the only ones that must pair up.
    func send(_ bytes: UnsafeRawBufferPointer, to peer: Int) throws
    /// Fills `buffer` with the bytes rank `peer` sends with `send(_:to:)`.
    func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: Int) throws
    /// Ends the whole job now, printing `message` once.
    func abort(_ message: String) -> Never
    /// Leaves the world cleanly after the last collective.
    func finish()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Every rank's `value`, indexed by rank.
    public func allgather<T: BitwiseCopyable>(_ value: T) throws -> [T] {
        var all = [T](repeating: value, count: size)
        try withUnsafeBytes(of: value) { send in
            try all.withUnsafeMutableBytes { receive in try allgather(send, into: receive) }
        }
        return all
    }
}
