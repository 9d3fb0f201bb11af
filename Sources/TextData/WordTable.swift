import Glibc

/// A hash table from words, as bytes, to an Int: the counts of a text's words, or the ids of a
/// vocabulary's. Keyed by the bytes themselves, so counting or looking up a word costs one hash
/// of its few bytes and a compare, with no `String` made per word (which made word
/// tokenization run at 32 MB/s). Open addressing, linear probing, the words' bytes in one arena.
struct WordTable {
    private var arena: [UInt8] = []
    /// Per entry: where its bytes start in `arena`, how many, its hash and its value.
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    private(set) var values: [Int] = []
    /// Entry index + 1 per slot, 0 for empty; a power of two, at most half full.
    private var slots = [Int32](repeating: 0, count: 1024)

    var count: Int { values.count }

    /// The bytes of entry `index`.
    func key(_ index: Int) -> ArraySlice<UInt8> { arena[starts[index]..<(starts[index] + Int(lengths[index]))] }

    /// The entry of the word at `word` (`length` bytes), inserted with value 0 when absent.
    mutating func entry(_ word: UnsafePointer<UInt8>, _ length: Int) -> Int {
        let hash = Self.hash(word, length)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let found = Int(slots[slot]) - 1
            if found < 0 { break }
            if hashes[found] == hash, equal(found, word, length) { return found }
            slot = (slot + 1) & mask
        }
        let index = values.count
        starts.append(arena.count)
        lengths.append(Int32(length))
        hashes.append(hash)
        values.append(0)
        arena.append(contentsOf: UnsafeBufferPointer(start: word, count: length))
        slots[slot] = Int32(index + 1)
        if 2 * values.count > slots.count { grow() }
        return index
    }

    /// The value of the word at `word`, or nil when it is absent.
    func value(_ word: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let hash = Self.hash(word, length)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let found = Int(slots[slot]) - 1
            if found < 0 { return nil }
            if hashes[found] == hash, equal(found, word, length) { return values[found] }
            slot = (slot + 1) & mask
        }
    }

    mutating func add(_ amount: Int, to index: Int) { values[index] += amount }

    private func equal(_ index: Int, _ word: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard Int(lengths[index]) == length else { return false }
        return arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[index], word, length) == 0 }
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: 2 * slots.count)
        let mask = slots.count - 1
        for index in hashes.indices {
            var slot = Int(truncatingIfNeeded: hashes[index]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }

    /// Eight bytes at a time, each word mixed by a multiply (the high bits fold down at the end,
    /// since the slot is taken from the low bits).
    static func hash(_ word: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(length)
        var i = 0
        while i + 8 <= length {
            h = (h ^ UnsafeRawPointer(word + i).loadUnaligned(as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < length {
            var tail: UInt64 = 0
            for k in i..<length { tail |= UInt64(word[k]) << (8 * UInt64(k - i)) }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        }
        return h ^ (h >> 32)
    }
}
