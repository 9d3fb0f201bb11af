/// A sequence of token ids read a range at a time: an array in memory (text tokenized at start)
/// or a prepared token file mapped read-only (`MappedTokens` in PreparedData). The batch fills copy
/// one range per sequence, so a mapped file is read on demand and never copied whole; one call per
/// sequence, not per token, keeps the existential dispatch out of the inner loop.
public protocol TokenStream: Sendable {
    var count: Int { get }
    /// Writes tokens `range` (within 0..<count) to `destination`, widened to Int32. Throws when a
    /// token read is not an id of the vocabulary (a damaged token file; an array never throws).
    func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) throws
}

extension Array: TokenStream where Element == Int32 {
    public func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) {
        withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + range.lowerBound, count: range.count) }
    }
}

/// The first `count` tokens of another stream (validation capped at `log.eval_tokens`).
public struct TokenPrefix: TokenStream {
    public let base: any TokenStream
    public let count: Int

    public init(_ base: any TokenStream, count: Int) {
        precondition(count <= base.count, "a prefix cannot be longer than its stream")
        self.base = base
        self.count = count
    }

    public func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) throws {
        precondition(range.upperBound <= count, "range beyond the prefix")
        try base.copy(range, to: destination)
    }
}

extension TokenStream {
    /// Tokens `range` as an array: for the callers that need all of a stream at once (n-gram counting).
    public func array(_ range: Range<Int>) throws -> [Int32] {
        try [Int32](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            initialized = 0
            if !range.isEmpty { try copy(range, to: buffer.baseAddress!) }
            initialized = range.count
        }
    }

    public var all: [Int32] {
        get throws { try (self as? [Int32]) ?? array(0..<count) }
    }
}
