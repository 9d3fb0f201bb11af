import Collectives

/// The sums a reducer starts during backward. The observer there cannot throw, so the first
/// error is kept and thrown once backward has returned.
///
/// Replicated, a finished range is summed on every rank (allreduce). Sharded, each piece of it
/// is summed onto the rank that owns the piece (`ParameterShards`): the ranges arrive in the
/// order backward finishes them, whatever the shards, so the overlap with backward is the same,
/// and a sum of integers (deterministic mode) is the same whichever rank takes it.
final class SumsInFlight {
    private let comm: Communicator
    /// nil: every rank gets every sum.
    private let shards: ParameterShards?
    private var pending: [Reduction] = []
    private var failure: Error?

    init(comm: Communicator, shards: ParameterShards?) {
        self.comm = comm
        self.shards = shards
    }

    func reset() {
        pending.removeAll(keepingCapacity: true)
        failure = nil
    }

    /// Starts the sum over ranks of `range` of the buffer at `base`, in place.
    func start(_ range: Range<Int>, of base: UnsafeMutablePointer<Float>) {
        guard let shards else {
            return start { try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: base + range.lowerBound, count: range.count)) }
        }
        for (owner, piece) in shards.pieces(of: range) {
            start { try comm.startReduceSum(UnsafeMutableBufferPointer(start: base + piece.lowerBound, count: piece.count), root: owner) }
        }
    }

    func start(_ range: Range<Int>, of base: UnsafeMutablePointer<Int64>) {
        guard let shards else {
            return start { try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: base + range.lowerBound, count: range.count)) }
        }
        for (owner, piece) in shards.pieces(of: range) {
            start { try comm.startReduceSum(UnsafeMutableBufferPointer(start: base + piece.lowerBound, count: piece.count), root: owner) }
        }
    }

    private func start(_ sum: () throws -> Reduction) {
        do { pending.append(try sum()) } catch { failure = failure ?? error }
    }

    /// Lets the sums in flight advance.
    func poll() {
        do { _ = try comm.test(pending) } catch { failure = failure ?? error }
    }

    func throwFailure() throws {
        if let failure { throw failure }
    }

    /// Waits for every sum, `last` (started after backward) included.
    func wait(with last: Reduction) throws {
        pending.append(last)
        try comm.wait(pending)
    }
}
