import Collectives

/// The sums a reducer starts during backward. The observer there cannot throw, so the first
/// error is kept and thrown once backward has returned.
final class SumsInFlight {
    private let comm: Communicator
    private var pending: [Reduction] = []
    private var failure: Error?

    init(comm: Communicator) { self.comm = comm }

    func reset() {
        pending.removeAll(keepingCapacity: true)
        failure = nil
    }

    func start(_ sum: () throws -> Reduction) {
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
