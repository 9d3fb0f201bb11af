import CMPI
import Collectives
import Files
import Foundation
import Kernels

/// The world of an `mpirun` (or `srun`) job, through Open MPI. Errors come back as codes
/// (MPI_ERRORS_RETURN) and are thrown with MPI's own text.
///
/// Every collective is started non-blocking and completed by polling through a `StallWatch`,
/// because Open MPI moves a non-blocking collective only inside MPI calls, and because a poll
/// can give up: after `timeout` seconds the rank pings every other rank, and the ranks that do
/// not answer within a grace period — the ones not waiting in MPI, so hung, stopped or
/// computing — are named. Every rank answers pings while it polls.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    let world = cmpi_comm_world()
    var watch = StallWatch()
    /// Ping rounds are numbered so a late answer to an old round is not taken for a new one.
    var round: Int64 = 0
    let pongs: UnsafeMutablePointer<Int64>
    /// The round number a ping carries; it must outlive the sends, so it lives with the object.
    let ping: UnsafeMutablePointer<Int64>
    /// Answers and announcements in flight, each with the value it sends (kept alive until sent).
    var replies: [(request: MPI_Request?, value: UnsafeMutablePointer<Int64>)] = []
    /// The step this rank last announced reaching, and the newest step each rank announced.
    var announced = -1
    var arrivals: [Int]
    /// bf16 + bf16 added in Float and rounded back: the bf16 wire's reduction operator.
    private var bf16Sum: MPI_Op?

    /// MPI_Init; a second MPICommunicator in one process is a programming error.
    public init() throws {
        // A large non-blocking reduce (the sharded update's) in Open MPI's default "chain"
        // algorithm is a pipeline of 8 KB segments, one advanced per MPI call: thousands of
        // rounds for a megabyte-sized gradient range, 2.5× slower steps on ptb-small. "binomial"
        // sends each range whole. Read at MPI_Init; a value set by the user stays.
        setenv("OMPI_MCA_coll_libnbc_ireduce_algorithm", "2", 0)
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        guard code == cmpi_success() else { throw CollectiveError("MPI_Init_thread failed with code \(code)") }
        MPI_Comm_set_errhandler(world, cmpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r)
        size = Int(s)
        pongs = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, size))
        ping = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        arrivals = [Int](repeating: -1, count: size)
        let created = MPI_Op_create({ input, output, length, _ in
            guard let input, let output, let length else { return }
            BF16.sum(count: Int(length.pointee), input.assumingMemoryBound(to: UInt16.self),
                     into: output.assumingMemoryBound(to: UInt16.self))
        }, 1, &bf16Sum)
        guard created == cmpi_success() else { throw CollectiveError("MPI_Op_create failed with code \(created)") }
        watch.rank = rank
        watch.hosts = try Self.exchangeHosts(Self.localHost(), size: size, world: world)
    }

    /// Receives posted into `pongs` live only on the stall path, which ends the job.
    deinit {
        pongs.deallocate()
        ping.deallocate()
    }

    public var timeout: Double {
        get { watch.timeout }
        set { watch.timeout = newValue }
    }

    public var hosts: [String] { watch.hosts }

    public var step: Int {
        get { watch.step }
        set { watch.step = newValue }
    }

    // MARK: Sums

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try wait([try startAllreduceSum(buffer)])
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try wait([try startSum(buffer, cmpi_double(), "MPI_Iallreduce of Double")])
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try wait([try startAllreduceSum(buffer)])
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction {
        try startSum(buffer, cmpi_float(), "MPI_Iallreduce of Float")
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction {
        try startSum(buffer, cmpi_int64(), "MPI_Iallreduce of Int64")
    }

    public func startAllreduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>) throws -> Reduction {
        try startSum(buffer, cmpi_uint16(), "MPI_Iallreduce of bf16", op: bf16Sum)
    }

    private func startSum<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ what: String,
                             op: MPI_Op? = cmpi_sum()) throws -> Reduction {
        guard buffer.count <= Int(Int32.max) else { throw CollectiveError("\(what): \(buffer.count) elements is too many") }
        return try start(what) { [world] in
            MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), type, op, world, &$0)
        }
    }

    public func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> Reduction {
        try startRootedSum(buffer, root: root, cmpi_float(), "MPI_Ireduce of Float")
    }

    public func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>, root: Int) throws -> Reduction {
        try startRootedSum(buffer, root: root, cmpi_int64(), "MPI_Ireduce of Int64")
    }

    /// MPI_Ireduce rather than MPI_Ireduce_scatter: Open MPI's non-blocking reduce-scatter
    /// (libnbc) reduces everything to rank 0 and scatters from there, while a reduce goes
    /// straight to its root.
    public func startReduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>, root: Int) throws -> Reduction {
        try startRootedSum(buffer, root: root, cmpi_uint16(), "MPI_Ireduce of bf16", op: bf16Sum)
    }

    private func startRootedSum<T>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, _ type: MPI_Datatype,
                                   _ what: String, op: MPI_Op? = cmpi_sum()) throws -> Reduction {
        guard buffer.count <= Int(Int32.max) else { throw CollectiveError("\(what): \(buffer.count) elements is too many") }
        let send = rank == root ? cmpi_in_place() : UnsafeMutableRawPointer(buffer.baseAddress)
        return try start(what) { [world] in
            MPI_Ireduce(send, buffer.baseAddress, Int32(buffer.count), type, op, Int32(root), world, &$0)
        }
    }

    public func test(_ reductions: [Reduction]) throws -> Bool {
        var done = true
        for r in reductions {
            if try !r.test() { done = false }
        }
        return done
    }

    public func wait(_ reductions: [Reduction]) throws {
        try progress("the gradient sum") { try self.test(reductions) }
    }

    // MARK: Other collectives

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard var p = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = min(left, Int(Int32.max))
            let part = p
            try complete(try start("MPI_Ibcast") { [world] in MPI_Ibcast(part, Int32(n), cmpi_byte(), Int32(root), world, &$0) },
                         "a broadcast")
            p += n
            left -= n
        }
    }

    public func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws {
        guard send.count <= Int(Int32.max) else { throw CollectiveError("MPI_Igather: \(send.count) bytes per rank is too many") }
        if rank == root {
            guard let receive, receive.count >= send.count * size else {
                throw CollectiveError("MPI_Igather: the receive buffer is smaller than \(size) × \(send.count) bytes")
            }
        }
        try complete(try start("MPI_Igather") { [world] in
            MPI_Igather(send.baseAddress, Int32(send.count), cmpi_byte(), receive?.baseAddress, Int32(send.count), cmpi_byte(),
                        Int32(root), world, &$0)
        }, "a gather")
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard send.count <= Int(Int32.max) else { throw CollectiveError("MPI_Iallgather: \(send.count) bytes per rank is too many") }
        guard receive.count >= send.count * size else {
            throw CollectiveError("MPI_Iallgather: the receive buffer is smaller than \(size) × \(send.count) bytes")
        }
        try complete(try start("MPI_Iallgather") { [world] in
            MPI_Iallgather(send.baseAddress, Int32(send.count), cmpi_byte(), receive.baseAddress, Int32(send.count), cmpi_byte(),
                           world, &$0)
        }, "an allgather")
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {
        try withCounts(parts, "MPI_Iallgatherv") { counts, displacements in
            try complete(try start("MPI_Iallgatherv") { [world] in
                MPI_Iallgatherv(cmpi_in_place(), 0, cmpi_float(), buffer.baseAddress, counts, displacements, cmpi_float(), world, &$0)
            }, "an allgather of parameters")
        }
    }

    public func gather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>?, parts: [Range<Int>],
                       root: Int) throws {
        guard send.count == parts[rank].count else {
            throw CollectiveError("MPI_Igatherv: rank \(rank) sends \(send.count) values, its part is \(parts[rank].count)")
        }
        try withCounts(parts, "MPI_Igatherv") { counts, displacements in
            try complete(try start("MPI_Igatherv") { [world] in
                MPI_Igatherv(send.baseAddress, Int32(send.count), cmpi_float(), receive?.baseAddress, counts, displacements,
                             cmpi_float(), Int32(root), world, &$0)
            }, "a gather of optimizer moments")
        }
    }

    /// MPI's counts and displacements of `parts`, alive until `body` returns: a non-blocking
    /// collective reads them until it completes, so `body` must complete it.
    private func withCounts(_ parts: [Range<Int>], _ what: String,
                            _ body: (UnsafePointer<Int32>, UnsafePointer<Int32>) throws -> Void) throws {
        guard parts.count == size, let end = parts.last?.upperBound, end <= Int(Int32.max) else {
            throw CollectiveError("\(what): \(parts.count) parts for \(size) ranks, or more than 2^31 elements")
        }
        let counts = parts.map { Int32($0.count) }, displacements = parts.map { Int32($0.lowerBound) }
        try counts.withUnsafeBufferPointer { c in
            try displacements.withUnsafeBufferPointer { d in try body(c.baseAddress!, d.baseAddress!) }
        }
    }

    public func barrier() throws {
        try complete(try start("MPI_Ibarrier") { [world] in MPI_Ibarrier(world, &$0) }, "a barrier")
    }

    // MARK: Point to point

    /// The tag of `send`/`receive`'s messages, apart from the liveness pings' tags.
    private static let dataTag: Int32 = 7305

    public func send(_ bytes: UnsafeRawBufferPointer, to peer: Int) throws {
        guard let base = bytes.baseAddress else { return }
        for (offset, n) in Self.pieces(bytes.count) {
            try complete(try start("MPI_Isend") { [world] in
                MPI_Isend(base + offset, Int32(n), cmpi_byte(), Int32(peer), Self.dataTag, world, &$0)
            }, "a send to rank \(peer)")
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: Int) throws {
        guard let base = buffer.baseAddress else { return }
        for (offset, n) in Self.pieces(buffer.count) {
            try complete(try start("MPI_Irecv") { [world] in
                MPI_Irecv(base + offset, Int32(n), cmpi_byte(), Int32(peer), Self.dataTag, world, &$0)
            }, "a receive from rank \(peer)")
        }
    }

    /// (offset, length) pieces of `count` bytes, each within MPI's Int32 count.
    private static func pieces(_ count: Int) -> [(Int, Int)] {
        stride(from: 0, to: count, by: Int(Int32.max)).map { ($0, min(Int(Int32.max), count - $0)) }
    }

    /// Seconds MPI_Abort may take before the rank ends itself: it blocks while mpirun cannot
    /// reach a daemon, and a rank that outlives its decision to abort is a hang.
    public static let abortGrace: Double = 10

    public func abort(_ message: String) -> Never {
        StandardError.line("rnntrain: rank \(rank): \(message)")
        let grace = Self.abortGrace
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: grace)
            StandardError.line("rnntrain: rank \(self.rank): MPI_Abort did not end this rank within \(Int(grace)) s; exiting")
            _exit(2)
        }
        MPI_Abort(world, 2)
        _exit(2)
    }

    /// MPI_Finalize: every rank calls it once, after its last collective.
    public func finish() {
        MPI_Finalize()
    }

    // MARK: Requests

    /// Starts a non-blocking operation with `call`, which fills in its request.
    private func start(_ what: String, _ call: (inout MPI_Request?) -> Int32) throws -> Reduction {
        var request: MPI_Request? = cmpi_request_null()
        try check(call(&request), what)
        return Reduction {
            var flag: Int32 = 0
            try check(MPI_Test(&request, &flag, cmpi_status_ignore()), "MPI_Test")
            return flag != 0
        }
    }

    private func complete(_ operation: Reduction, _ what: String) throws {
        try progress(what) { try operation.test() }
    }

    /// Polls `done` until it holds, answering pings, within the timeout.
    private func progress(_ what: String, _ done: () throws -> Bool) throws {
        try announceArrival()
        try watch.wait(in: what, until: done, answeringPings: answerPings, unresponsiveRanks: unresponsiveRanks)
    }
}

/// Throws `what` failed with MPI's text for a code other than MPI_SUCCESS.
func check(_ code: Int32, _ what: String) throws {
    guard code != cmpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &text, &length)
    throw CollectiveError("\(what) failed: \(String(cString: text))")
}
