import Collectives

/// The sums a reducer starts during backward. The observer there cannot throw, so the first
/// error is kept and thrown once backward has returned.
///
/// Replicated, a finished range is summed on every rank (allreduce). Sharded, each piece of it
/// is summed onto the rank that owns the piece (`ParameterShards`): the ranges arrive in the
/// order backward finishes them, whatever the shards, so the overlap with backward is the same,
/// and a sum of integers (deterministic mode) is the same whichever rank takes it.
///
/// A range is summed in parts of at most `largestSum` values, so the last range backward hands
/// over (the embedding, often the largest) lands part by part and the work on a landed part
/// (decoding, the norm's block sums) overlaps the parts still on the wire.
final class SumsInFlight {
    /// Values per sum: 2^18 (1 MB of Float) or fewer.
    static let largestSum = 1 << 18

    private let comm: Communicator
    /// nil: every rank gets every sum.
    private let shards: ParameterShards?
    /// Each sum in flight, with the range of values it leaves summed on this rank (nil when
    /// it lands on another rank).
    private var pending: [(sum: Reduction, lands: Range<Int>?)] = []
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
        start(range, all: { try self.comm.startAllreduceSum($0) }, rooted: { try self.comm.startReduceSum($0, root: $1) },
              base: base)
    }

    func start(_ range: Range<Int>, of base: UnsafeMutablePointer<Int64>) {
        start(range, all: { try self.comm.startAllreduceSum($0) }, rooted: { try self.comm.startReduceSum($0, root: $1) },
              base: base)
    }

    /// bf16 values (`Communicator.startAllreduceSumBF16`).
    func start(_ range: Range<Int>, ofBF16 base: UnsafeMutablePointer<UInt16>) {
        start(range, all: { try self.comm.startAllreduceSumBF16($0) },
              rooted: { try self.comm.startReduceSumBF16($0, root: $1) }, base: base)
    }

    /// Starts the sum of `range` of the gradient at `base`, sending the embedding's part as only
    /// the rows `touched` names, packed into `packed` (`TouchedRows`): one sum replicated, or one
    /// per shard owner of the rows' pieces in its shard. When a sum lands, its pieces are put back
    /// and all of the embedding (sharded: its part in this rank's shard) is reported landed.
    func start(_ range: Range<Int>, of base: UnsafeMutablePointer<Float>, packing touched: TouchedRows?,
               into packed: UnsafeMutablePointer<Float>?) {
        start(range, packing: touched, into: packed, base: base, all: { try self.comm.startAllreduceSum($0) },
              rooted: { try self.comm.startReduceSum($0, root: $1) }, unpacked: { self.start($0, of: base) })
    }

    func start(_ range: Range<Int>, of base: UnsafeMutablePointer<Int64>, packing touched: TouchedRows?,
               into packed: UnsafeMutablePointer<Int64>?) {
        start(range, packing: touched, into: packed, base: base, all: { try self.comm.startAllreduceSum($0) },
              rooted: { try self.comm.startReduceSum($0, root: $1) }, unpacked: { self.start($0, of: base) })
    }

    private func start<T>(_ range: Range<Int>, packing touched: TouchedRows?, into packed: UnsafeMutablePointer<T>?,
                          base: UnsafeMutablePointer<T>, all: (UnsafeMutableBufferPointer<T>) throws -> Reduction,
                          rooted: (UnsafeMutableBufferPointer<T>, Int) throws -> Reduction, unpacked: (Range<Int>) -> Void) {
        guard let touched, let packed, range.upperBound == touched.range.upperBound,
              range.lowerBound <= touched.range.lowerBound else { return unpacked(range) }
        do {
            guard let rows = try touched.rows() else { return unpacked(range) }
            let embedding = touched.range, w = touched.width
            if range.lowerBound < embedding.lowerBound { unpacked(range.lowerBound..<embedding.lowerBound) }
            let owners: [(rank: Int?, part: Range<Int>)] =
                shards.map { $0.pieces(of: embedding).map { ($0.rank, $0.range) } } ?? [(nil, embedding)]
            var segment = packed
            for (owner, part) in owners {
                let pieces = rows.map { (embedding.lowerBound + $0 * w)..<(embedding.lowerBound + ($0 + 1) * w) }
                    .map { $0.clamped(to: part) }.filter { !$0.isEmpty }
                let lands = owner == nil || owner == comm.rank ? part : nil
                let count = Self.pack(pieces, from: base, into: segment)
                guard count > 0 else {
                    pending.append((Reduction(), lands))
                    continue
                }
                let buffer = UnsafeMutableBufferPointer(start: segment, count: count)
                let sum = try owner.map { try rooted(buffer, $0) } ?? all(buffer)
                let from = segment
                pending.append((Reduction {
                    guard try sum.test() else { return false }
                    if lands != nil { Self.unpack(pieces, from: from, into: base) }
                    return true
                }, lands))
                segment += count
            }
        } catch {
            failure = failure ?? error
        }
    }

    /// Copies the `pieces` of the buffer at `base` one after another into `packed`; returns how many values.
    private static func pack<T>(_ pieces: [Range<Int>], from base: UnsafeMutablePointer<T>, into packed: UnsafeMutablePointer<T>) -> Int {
        var n = 0
        for piece in pieces {
            (packed + n).update(from: base + piece.lowerBound, count: piece.count)
            n += piece.count
        }
        return n
    }

    /// Puts `packed` back as the `pieces` of the buffer at `base`.
    private static func unpack<T>(_ pieces: [Range<Int>], from packed: UnsafeMutablePointer<T>, into base: UnsafeMutablePointer<T>) {
        var n = 0
        for piece in pieces {
            (base + piece.lowerBound).update(from: packed + n, count: piece.count)
            n += piece.count
        }
    }

    private func start<T>(_ range: Range<Int>, all: (UnsafeMutableBufferPointer<T>) throws -> Reduction,
                          rooted: (UnsafeMutableBufferPointer<T>, Int) throws -> Reduction, base: UnsafeMutablePointer<T>) {
        let owned: [(rank: Int?, range: Range<Int>)] = shards.map { $0.pieces(of: range).map { ($0.rank, $0.range) } } ?? [(nil, range)]
        for (owner, piece) in owned {
            for lo in stride(from: piece.lowerBound, to: piece.upperBound, by: Self.largestSum) {
                let part = lo..<min(lo + Self.largestSum, piece.upperBound)
                let buffer = UnsafeMutableBufferPointer(start: base + part.lowerBound, count: part.count)
                do {
                    if let owner {
                        pending.append((try rooted(buffer, owner), owner == comm.rank ? part : nil))
                    } else {
                        pending.append((try all(buffer), part))
                    }
                } catch {
                    failure = failure ?? error
                }
            }
        }
    }

    /// Lets the sums in flight advance.
    func poll() {
        do { _ = try comm.test(pending.map(\.sum)) } catch { failure = failure ?? error }
    }

    func throwFailure() throws {
        if let failure { throw failure }
    }

    /// Waits for every sum, `also` (started after backward) included, calling `landed` with
    /// the range of each sum that lands on this rank as soon as it completes. Every poll tests
    /// every sum: Open MPI advances a non-blocking collective only when it is tested.
    func wait(also: Reduction? = nil, landed: (Range<Int>) -> Void) throws {
        try withoutActuallyEscaping(landed) { landed in
            let watched = pending.map { sum, lands in
                Reduction {
                    guard try sum.test() else { return false }
                    if let lands { landed(lands) }
                    return true
                }
            }
            try comm.wait(watched + (also.map { [$0] } ?? []))
            // A backend whose sums are complete when they start waits without testing them.
            for sum in watched { _ = try sum.test() }
        }
    }
}
