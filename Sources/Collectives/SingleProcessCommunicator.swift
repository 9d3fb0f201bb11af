import Files
import Foundation

/// The world of one process: every collective is the identity, and MPI is never touched.
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var timeout = Double.infinity
    public var step = 0
    public var hosts: [String] { [ProcessInfo.processInfo.hostName] }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {}
    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction { Reduction() }
    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction { Reduction() }
    public func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> Reduction { Reduction() }
    public func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>, root: Int) throws -> Reduction { Reduction() }
    public func startAllreduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>) throws -> Reduction { Reduction() }
    public func startReduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>, root: Int) throws -> Reduction { Reduction() }
    public func test(_ reductions: [Reduction]) throws -> Bool { true }
    public func wait(_ reductions: [Reduction]) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}

    public func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws {
        guard let receive, let base = send.baseAddress, send.count > 0 else { return }
        receive.baseAddress!.copyMemory(from: base, byteCount: send.count)
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard let base = send.baseAddress, send.count > 0 else { return }
        receive.baseAddress!.copyMemory(from: base, byteCount: send.count)
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {}

    public func gather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>?, parts: [Range<Int>],
                       root: Int) throws {
        guard let receive, let base = send.baseAddress, send.count > 0 else { return }
        (receive.baseAddress! + parts[0].lowerBound).update(from: base, count: send.count)
    }

    public func barrier() throws {}

    /// A world of one has no peer to send to or receive from; a call is a programming error.
    public func send(_ bytes: UnsafeRawBufferPointer, to peer: Int) throws {
        preconditionFailure("send to rank \(peer) in a world of one process")
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: Int) throws {
        preconditionFailure("receive from rank \(peer) in a world of one process")
    }
    public func finish() {}

    public func abort(_ message: String) -> Never {
        StandardError.line("rnntrain: \(message)")
        exit(2)
    }
}
