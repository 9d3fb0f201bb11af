/// An error the user can fix: a bad config, a missing or malformed file, a corrupt checkpoint,
/// a corpus too small for the batch. The command line prints `description` as one line and
/// exits with status 2.
public struct UserError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
