/// What data-parallel training needs from the ranks of a job: sums, broadcasts and gathers of
/// flat buffers. Collectives know nothing of models.
///
/// Every rank must make the same calls in the same order with the same sizes.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// In-place elementwise sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws
    /// Starts an in-place sum that completes in the background (MPI_Iallreduce); the buffer
    /// must stay untouched until `wait` returns.
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction
    /// Advances reductions in flight without blocking (Open MPI moves a non-blocking collective
    /// only inside MPI calls); true when all are complete.
    func test(_ reductions: [Reduction]) throws -> Bool
    /// Tells every other rank this one reached `step`, so a rank that never does can be named.
    func announce(step: Int) throws
    /// Completes `reductions`. After `timeout` seconds throws `StallError` naming the ranks
    /// that have not announced `step`.
    func wait(_ reductions: [Reduction], step: Int, timeout: Double) throws
    /// Copies `root`'s bytes into every rank's buffer (same byte count everywhere).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Concatenates every rank's `send` (same byte count everywhere) in rank order into
    /// `receive` on `root` (size × send.count bytes there; ignored elsewhere).
    func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws
    func barrier() throws
    /// Ends the whole job now, printing `message` once.
    func abort(_ message: String) -> Never
    /// Leaves the world cleanly after the last collective.
    func finish()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }
}
