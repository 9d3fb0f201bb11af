import Collectives
import Foundation
import XCTest

/// Ranks as threads of one process, joined by first-in-first-out mailboxes per (sender,
/// receiver): the point-to-point half of a world, which is all `treeReduce` uses.
private final class ThreadWorld: @unchecked Sendable {
    let size: Int
    let condition = NSCondition()
    var mailboxes: [[Int]: [[UInt8]]] = [:]
    init(size: Int) { self.size = size }
}

private final class ThreadRank: Communicator {
    let rank: Int
    let world: ThreadWorld
    init(_ rank: Int, _ world: ThreadWorld) {
        self.rank = rank
        self.world = world
    }
    var size: Int { world.size }
    var timeout = Double.infinity
    var step = 0
    var hosts: [String] { Array(repeating: "test", count: size) }

    func send(_ bytes: UnsafeRawBufferPointer, to peer: Int) throws {
        world.condition.lock()
        world.mailboxes[[rank, peer], default: []].append(Array(bytes))
        world.condition.broadcast()
        world.condition.unlock()
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: Int) throws {
        world.condition.lock()
        defer { world.condition.unlock() }
        while world.mailboxes[[peer, rank], default: []].isEmpty { world.condition.wait() }
        let message = world.mailboxes[[peer, rank]]!.removeFirst()
        precondition(message.count == buffer.count, "rank \(rank) expected \(buffer.count) bytes from \(peer), got \(message.count)")
        message.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { fatalError("not point to point") }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { fatalError("not point to point") }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws { fatalError("not point to point") }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> Reduction { fatalError("not point to point") }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>) throws -> Reduction { fatalError("not point to point") }
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> Reduction { fatalError("not point to point") }
    func startReduceSum(_ buffer: UnsafeMutableBufferPointer<Int64>, root: Int) throws -> Reduction { fatalError("not point to point") }
    func startAllreduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>) throws -> Reduction { fatalError("not point to point") }
    func startReduceSumBF16(_ buffer: UnsafeMutableBufferPointer<UInt16>, root: Int) throws -> Reduction { fatalError("not point to point") }
    func test(_ reductions: [Reduction]) throws -> Bool { fatalError("not point to point") }
    func wait(_ reductions: [Reduction]) throws { fatalError("not point to point") }
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { fatalError("not point to point") }
    func gather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer?, root: Int) throws {
        fatalError("not point to point")
    }
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws { fatalError("not point to point") }
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws { fatalError("not point to point") }
    func gather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>?, parts: [Range<Int>],
                root: Int) throws {
        fatalError("not point to point")
    }
    func barrier() throws { fatalError("not point to point") }
    func abort(_ message: String) -> Never { fatalError(message) }
    func finish() {}
}

/// `Communicator.treeReduce` over worlds of 1 to 9 ranks. The values are lists of ranks and the
/// combination is concatenation, which is associative but not commutative: rank 0's result is
/// 0, 1, …, size − 1 only if every rank's value arrives exactly once and in rank order.
final class TreeReduceTests: XCTestCase {
    private func encode(_ ranks: [Int32]) -> [UInt8] { ranks.withUnsafeBytes { Array($0) } }
    private func decode(_ bytes: [UInt8]) -> [Int32] {
        bytes.withUnsafeBytes { raw in (0..<bytes.count / 4).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) } }
    }

    func testEveryRankArrivesOnceInRankOrder() throws {
        for size in 1...9 {
            let world = ThreadWorld(size: size)
            // A thread per rank: ranks block in receive, so a pool smaller than the world would deadlock.
            let done = DispatchGroup()
            let results = NSLock()
            nonisolated(unsafe) var byRank: [Int: [Int32]?] = [:]
            for rank in 0..<size {
                done.enter()
                Thread.detachNewThread { [self] in
                    let result = try! ThreadRank(rank, world).treeReduce([Int32(rank)], encode: encode, decode: decode,
                                                                        combine: { $0 + $1 })
                    results.lock()
                    byRank[rank] = result
                    results.unlock()
                    done.leave()
                }
            }
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "world of \(size) did not finish")
            XCTAssertEqual(byRank[0] ?? nil, (0..<Int32(size)).map { $0 }, "world of \(size)")
            for rank in 1..<max(1, size) {
                XCTAssertEqual(byRank[rank] ?? [-1], nil, "rank \(rank) of \(size) returns nil")
            }
            XCTAssertTrue(world.mailboxes.values.allSatisfy(\.isEmpty), "world of \(size): a message left unread")
        }
    }
}
