/// A sum started with `Communicator.startAllreduceSum`, complete after `Communicator.wait`.
/// The backend that started it supplies how to advance it, so the handle names no transport.
public final class Reduction {
    private var isComplete: Bool
    private let advance: () throws -> Bool

    /// A reduction in flight: `advance` moves it without blocking and is true once it is complete.
    public init(advance: @escaping () throws -> Bool) {
        self.advance = advance
        isComplete = false
    }

    /// A reduction that was complete when it started (one process).
    public init() {
        advance = { true }
        isComplete = true
    }

    /// Advances the reduction unless it is complete; true once it is.
    public func test() throws -> Bool {
        if !isComplete { isComplete = try advance() }
        return isComplete
    }
}
