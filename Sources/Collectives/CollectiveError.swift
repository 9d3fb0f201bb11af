/// A collective operation failed; the job cannot continue consistently.
public struct CollectiveError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
