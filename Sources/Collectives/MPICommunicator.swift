import CMPI
import Foundation

/// The world of an `mpirun` (or `srun`) job, through Open MPI. Errors come back as codes
/// (MPI_ERRORS_RETURN) and are thrown with MPI's own text.
///
/// Every collective is started non-blocking and completed by polling, because Open MPI moves a
/// non-blocking collective only inside MPI calls, and because a poll can give up: after
/// `timeout` seconds the rank pings every other rank, and the ranks that do not answer within
/// a grace period — the ones not waiting in MPI, so hung, stopped or computing — are named.
/// Every rank answers pings while it polls.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public var timeout = Double.infinity
    public var step = 0
    private let world = cmpi_comm_world()

    /// MPI_Init; a second MPICommunicator in one process is a programming error.
    public init() throws {
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
    }

    /// Receives posted into `pongs` live only on the stall path, which ends the job.
    deinit {
        pongs.deallocate()
        ping.deallocate()
    }

    /// Whether this process was started by a launcher that gives it an MPI world (mpirun,
    /// srun, or any PMI/PMIx launcher), judged from the environment without touching MPI.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { env[$0] != nil }
    }

    // MARK: Sums

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try wait([try startAllreduceSum(buffer)])
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try wait([try start(buffer, cmpi_double(), "MPI_Iallreduce of Double")])
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try wait([try startAllreduceSum(buffer)])
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction {
        try start(buffer, cmpi_float(), "MPI_Iallreduce of Float")
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction {
        try start(buffer, cmpi_int64(), "MPI_Iallreduce of Int64")
    }

    private func start<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ what: String) throws -> Reduction {
        guard buffer.count <= Int(Int32.max) else { throw CollectiveError("\(what): \(buffer.count) elements is too many") }
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), type, cmpi_sum(), world, &request), what)
        return Reduction(request: request)
    }

    public func test(_ reductions: [Reduction]) throws -> Bool {
        var done = true
        for r in reductions where !r.isComplete {
            var flag: Int32 = 0
            try check(MPI_Test(&r.request, &flag, cmpi_status_ignore()), "MPI_Test")
            if flag != 0 { r.isComplete = true } else { done = false }
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
            var request: MPI_Request? = cmpi_request_null()
            try check(MPI_Ibcast(p, Int32(n), cmpi_byte(), Int32(root), world, &request), "MPI_Ibcast")
            try complete(&request, "a broadcast")
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
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Igather(send.baseAddress, Int32(send.count), cmpi_byte(), receive?.baseAddress,
                              Int32(send.count), cmpi_byte(), Int32(root), world, &request), "MPI_Igather")
        try complete(&request, "a gather")
    }

    public func barrier() throws {
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Ibarrier(world, &request), "MPI_Ibarrier")
        try complete(&request, "a barrier")
    }

    private func complete(_ request: inout MPI_Request?, _ what: String) throws {
        try withUnsafeMutablePointer(to: &request) { r in
            try progress(what) {
                var flag: Int32 = 0
                try self.check(MPI_Test(r, &flag, cmpi_status_ignore()), "MPI_Test")
                return flag != 0
            }
        }
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("rnntrain: rank \(rank): \(message)\n".utf8))
        MPI_Abort(world, 2)
        exit(2)
    }

    /// MPI_Finalize: every rank calls it once, after its last collective.
    public func finish() {
        MPI_Finalize()
    }

    // MARK: Progress, timeout and liveness

    private static let pingTag: Int32 = 7302, pongTag: Int32 = 7303
    /// Ping rounds are numbered so a late answer to an old round is not taken for a new one.
    private var round: Int64 = 0
    private let pongs: UnsafeMutablePointer<Int64>
    /// The round number a ping carries; it must outlive the sends, so it lives with the object.
    private let ping: UnsafeMutablePointer<Int64>
    /// Answers in flight, each with the value it sends (kept alive until sent).
    private var replies: [(request: MPI_Request?, value: UnsafeMutablePointer<Int64>)] = []

    /// Polls `done` until it holds, answering pings; after `timeout` seconds names the ranks
    /// that do not answer and throws.
    private func progress(_ what: String, _ done: () throws -> Bool) throws {
        let start = monotonicSeconds()
        var pause: UInt32 = 1
        while try !done() {
            try answerPings()
            let waited = monotonicSeconds() - start
            if waited > timeout {
                throw StallError(step: step, seconds: waited, operation: what, missing: try unresponsiveRanks())
            }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

    private func answerPings() throws {
        guard size > 1 else { return }
        while true {
            var flag: Int32 = 0
            var status = cmpi_empty_status()
            try check(MPI_Iprobe(cmpi_any_source(), Self.pingTag, world, &flag, &status), "MPI_Iprobe")
            guard flag != 0 else { break }
            let value = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
            try check(MPI_Recv(value, 1, cmpi_int64(), status.MPI_SOURCE, Self.pingTag, world, cmpi_status_ignore()), "MPI_Recv")
            var request: MPI_Request? = cmpi_request_null()
            try check(MPI_Isend(value, 1, cmpi_int64(), status.MPI_SOURCE, Self.pongTag, world, &request), "MPI_Isend")
            replies.append((request, value))
        }
        replies.removeAll { reply in
            var request = reply.request, flag: Int32 = 0
            MPI_Test(&request, &flag, cmpi_status_ignore())
            if flag != 0 { reply.value.deallocate() }
            return flag != 0
        }
    }

    /// Pings every other rank and waits a grace period for the answers of this round.
    private func unresponsiveRanks() throws -> [Int] {
        round += 1
        let grace = min(5.0, max(1.0, timeout / 4))
        ping.pointee = round
        var receives: [Int: MPI_Request?] = [:]
        for other in 0..<size where other != rank {
            var send: MPI_Request? = cmpi_request_null()
            try check(MPI_Isend(ping, 1, cmpi_int64(), Int32(other), Self.pingTag, world, &send), "MPI_Isend")
            // Nobody waits for a ping to be sent: let MPI complete and free it on its own.
            MPI_Request_free(&send)
            var receive: MPI_Request? = cmpi_request_null()
            try check(MPI_Irecv(pongs + other, 1, cmpi_int64(), Int32(other), Self.pongTag, world, &receive), "MPI_Irecv")
            receives[other] = receive
        }
        var answered = Set<Int>()
        let start = monotonicSeconds()
        while answered.count < receives.count, monotonicSeconds() - start < grace {
            try answerPings()
            for (other, var request) in receives where !answered.contains(other) {
                var flag: Int32 = 0
                try check(MPI_Test(&request, &flag, cmpi_status_ignore()), "MPI_Test")
                guard flag != 0 else { continue }
                if pongs[other] == round {
                    answered.insert(other)
                } else {
                    // An answer to an older round: listen again.
                    try check(MPI_Irecv(pongs + other, 1, cmpi_int64(), Int32(other), Self.pongTag, world, &request), "MPI_Irecv")
                }
                receives[other] = request
            }
            usleep(1000)
        }
        return receives.keys.filter { !answered.contains($0) }.sorted()
    }

    private func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != cmpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw CollectiveError("\(what) failed: \(String(cString: text))")
    }
}

/// A collective operation failed; the job cannot continue consistently.
public struct CollectiveError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
