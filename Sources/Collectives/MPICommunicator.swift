import CMPI
import Foundation

/// The world of an `mpirun` (or `srun`) job, through Open MPI. Errors come back as codes
/// (MPI_ERRORS_RETURN) and are thrown with MPI's own text.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
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
    }

    /// Whether this process was started by a launcher that gives it an MPI world (mpirun,
    /// srun, or any PMI/PMIx launcher), judged from the environment without touching MPI.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { env[$0] != nil }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try reduce(buffer, cmpi_float(), "MPI_Allreduce of Float")
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try reduce(buffer, cmpi_double(), "MPI_Allreduce of Double")
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        try reduce(buffer, cmpi_int64(), "MPI_Allreduce of Int64")
    }

    /// MPI counts are Int32: longer buffers go in pieces.
    private func reduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ what: String) throws {
        guard var p = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = min(left, Int(Int32.max))
            try check(MPI_Allreduce(cmpi_in_place(), p, Int32(n), type, cmpi_sum(), world), what)
            p += n
            left -= n
        }
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

    // Arrival notices: one Int64 (the step) to and from every other rank per step.
    private static let arrivalTag: Int32 = 7301
    private var arrivalSends: [MPI_Request?] = []
    private var arrivalReceives: [MPI_Request?] = []
    private lazy var outgoingStep = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    private lazy var incomingSteps = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, size))
    private var announcedStep = -1

    public func announce(step: Int) throws {
        guard size > 1 else { return }
        try settleArrivals()
        outgoingStep.pointee = Int64(step)
        for other in 0..<size where other != rank {
            var receive: MPI_Request? = cmpi_request_null(), send: MPI_Request? = cmpi_request_null()
            try check(MPI_Irecv(incomingSteps + other, 1, cmpi_int64(), Int32(other), Self.arrivalTag, world, &receive), "MPI_Irecv")
            try check(MPI_Isend(outgoingStep, 1, cmpi_int64(), Int32(other), Self.arrivalTag, world, &send), "MPI_Isend")
            arrivalReceives.append(receive)
            arrivalSends.append(send)
        }
        announcedStep = step
    }

    /// The previous step's notices have all arrived once its reduction finished; complete them.
    private func settleArrivals() throws {
        guard !arrivalSends.isEmpty || !arrivalReceives.isEmpty else { return }
        var all = arrivalSends + arrivalReceives
        try check(MPI_Waitall(Int32(all.count), &all, nil), "MPI_Waitall")
        arrivalSends = []
        arrivalReceives = []
    }

    public func wait(_ reductions: [Reduction], step: Int, timeout: Double) throws {
        let start = monotonicSeconds()
        var pause: UInt32 = 1
        while try !test(reductions) {
            let waited = monotonicSeconds() - start
            if waited > timeout {
                throw StallError(step: step, seconds: waited, missing: try ranksNotArrived(step: step))
            }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

    /// Ranks whose notice for `step` has not arrived.
    private func ranksNotArrived(step: Int) throws -> [Int] {
        guard announcedStep == step else { return [] }
        var missing: [Int] = []
        let others = (0..<size).filter { $0 != rank }
        for (i, other) in others.enumerated() {
            var flag: Int32 = 0
            try check(MPI_Test(&arrivalReceives[i], &flag, cmpi_status_ignore()), "MPI_Test")
            if flag == 0 { missing.append(other) }
        }
        return missing
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard var p = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let n = min(left, Int(Int32.max))
            try check(MPI_Bcast(p, Int32(n), cmpi_byte(), Int32(root), world), "MPI_Bcast")
            p += n
            left -= n
        }
    }

    public func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws {
        guard send.count <= Int(Int32.max) else { throw CollectiveError("MPI_Gather: \(send.count) bytes per rank is too many") }
        if rank == root {
            guard let receive, receive.count >= send.count * size else {
                throw CollectiveError("MPI_Gather: the receive buffer is smaller than \(size) × \(send.count) bytes")
            }
        }
        try check(MPI_Gather(send.baseAddress, Int32(send.count), cmpi_byte(), receive?.baseAddress,
                             Int32(send.count), cmpi_byte(), Int32(root), world), "MPI_Gather")
    }

    public func barrier() throws {
        try check(MPI_Barrier(world), "MPI_Barrier")
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
