import Files

/// The byte form of counts, sent between ranks: "RNNGRAMC", then little-endian UInt32 format
/// version, order, vocabulary size, Int32 ids of <s>, </s>, <unk>; per order n a UInt64 count_n,
/// the `[count_n × n]` Int32 token ids and the `[count_n]` UInt64 occurrences.
extension NGramCounts {
    private static let magic = Array("RNNGRAMC".utf8)
    private static let formatVersion: UInt32 = 1

    public func serialized() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(40 + grams.reduce(0) { $0 + 4 * $1.count } + occurrences.reduce(0) { $0 + 8 + 8 * $1.count })
        for value in [Self.formatVersion, UInt32(order), UInt32(vocabulary.size)] { appendLittleEndian(value, to: &out) }
        for id in [vocabulary.sentenceStart, vocabulary.sentenceEnd, vocabulary.unknown] { appendLittleEndian(id, to: &out) }
        for n in 1...order {
            appendLittleEndian(UInt64(count(ofOrder: n)), to: &out)
            for id in grams[n - 1] { appendLittleEndian(id, to: &out) }
            for c in occurrences[n - 1] { appendLittleEndian(c, to: &out) }
        }
        return out
    }

    /// Reads what `serialized()` wrote. Nothing is allocated before the bytes it needs are known to
    /// be there; ids out of the vocabulary, rows out of order or repeated, zero occurrences and
    /// trailing bytes are each a UserError.
    public init(serialized bytes: [UInt8]) throws {
        var reader = ByteReader(bytes, what: "n-gram counts")
        guard try reader.bytes(Self.magic.count) == Self.magic else { throw reader.fail("not n-gram counts") }
        let version = try reader.uint32()
        guard version == Self.formatVersion else { throw reader.fail("format version \(version), expected \(Self.formatVersion)") }
        let order = Int(try reader.uint32())
        let size = Int(try reader.uint32())
        let vocabulary = try NGramVocabulary(size: size, sentenceStart: try reader.int32(),
                                             sentenceEnd: try reader.int32(), unknown: try reader.int32())
        try self.init(order: order, vocabulary: vocabulary)
        for n in 1...order {
            let count = try reader.uint64()
            // Each n-gram takes 4n + 8 bytes, so a count beyond what is left is refused before any allocation.
            guard count <= UInt64(reader.remaining / (4 * n + 8)) else {
                throw reader.fail("\(count) \(n)-grams claimed, more than the bytes left hold")
            }
            let rows = try reader.int32s(Int(count) * n)
            let counts = try reader.uint64s(Int(count))
            for (k, id) in rows.enumerated() where !(0..<Int32(size)).contains(id) {
                throw reader.fail("\(n)-gram \(k / n): id \(id) is not in 0..<\(size)")
            }
            for i in 0..<Int(count) {
                guard counts[i] > 0 else { throw reader.fail("\(n)-gram \(i) occurs 0 times") }
                guard i == 0 || compareRows(rows, i - 1, rows, i, n) < 0 else {
                    throw reader.fail("\(n)-gram \(i) is not after the one before it")
                }
            }
            grams[n - 1] = rows
            occurrences[n - 1] = counts
        }
        guard reader.remaining == 0 else { throw reader.fail("\(reader.remaining) bytes after the counts") }
    }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

/// Reads little-endian numbers off untrusted bytes; every read checks what is left first.
private struct ByteReader {
    let bytes: [UInt8]
    let what: String
    var position = 0

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - position }

    func fail(_ why: String) -> UserError { UserError("\(what), byte \(position): \(why)") }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count <= remaining else { throw fail("ends early (\(count) bytes needed, \(remaining) left)") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func array<T: FixedWidthInteger>(_ count: Int, of: T.Type) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard count <= remaining / size else { throw fail("ends early (\(count) values needed)") }
        let values = bytes.withUnsafeBytes { raw in
            (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: position + $0 * size, as: T.self)) }
        }
        position += count * size
        return values
    }

    mutating func uint32() throws -> UInt32 { try array(1, of: UInt32.self)[0] }
    mutating func int32() throws -> Int32 { try array(1, of: Int32.self)[0] }
    mutating func uint64() throws -> UInt64 { try array(1, of: UInt64.self)[0] }
    mutating func int32s(_ count: Int) throws -> [Int32] { try array(count, of: Int32.self) }
    mutating func uint64s(_ count: Int) throws -> [UInt64] { try array(count, of: UInt64.self) }
}
