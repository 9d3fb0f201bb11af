import Glibc

/// A hash table from words, as bytes, to an Int: the counts of a text's words, or the ids of a
/// vocabulary's. Keyed by the bytes themselves, so counting or looking up a word costs one hash
/// of its few bytes and a compare, with no `String` made per word (which made word
/// tokenization run at 32 MB/s). Open addressing with linear probing; each slot holds the word's
/// hash, its first eight bytes and where the rest is in one arena, so a probe touches one slot
/// and a word of up to eight bytes is compared without reading the arena.
struct WordTable {
    private struct Slot {
        var hash: UInt64 = 0
        var prefix: UInt64 = 0
        var start: Int32 = 0
        /// 0: empty (words are never empty).
        var length: Int32 = 0
        var value = 0
    }

    private var arena: [UInt8] = []
    /// A power of two, at most half full.
    private var slots = [Slot](repeating: Slot(), count: 1024)
    private var shift = 64 - 10
    private(set) var count = 0

    /// Adds `amount` to the value of the word at `word` (`length` > 0 bytes), inserting it with
    /// value 0 first when absent.
    mutating func add(_ amount: Int, toWord word: UnsafePointer<UInt8>, _ length: Int) {
        let (hash, prefix) = Self.hash(word, length)
        let start = Int32(arena.count)
        let shift = self.shift
        let added = arena.withUnsafeBufferPointer { arena in
            slots.withUnsafeMutableBufferPointer { slots in
                let found = Self.find(hash, prefix, word, length, in: UnsafeBufferPointer(slots), arena: arena, shift: shift)
                if slots[found].length != 0 {
                    slots[found].value += amount
                    return false
                }
                slots[found] = Slot(hash: hash, prefix: prefix, start: start, length: Int32(length), value: amount)
                return true
            }
        }
        guard added else { return }
        if length > 8 { arena.append(contentsOf: UnsafeBufferPointer(start: word + 8, count: length - 8)) }
        count += 1
        if 2 * count > slots.count { grow() }
    }

    /// The value of the word at `word`, or nil when it is absent.
    func value(_ word: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let (hash, prefix) = Self.hash(word, length)
        return arena.withUnsafeBufferPointer { arena in
            slots.withUnsafeBufferPointer { slots in
                let slot = slots[Self.find(hash, prefix, word, length, in: slots, arena: arena, shift: shift)]
                return slot.length == 0 ? nil : slot.value
            }
        }
    }

    /// Calls `body` with every word and its value, in no particular order.
    func forEach(_ body: ([UInt8], Int) -> Void) {
        for slot in slots where slot.length != 0 {
            var key = withUnsafeBytes(of: slot.prefix.littleEndian) { Array($0.prefix(min(8, Int(slot.length)))) }
            if slot.length > 8 { key += arena[Int(slot.start)..<(Int(slot.start) + Int(slot.length) - 8)] }
            body(key, slot.value)
        }
    }

    /// The slot holding the word, or the empty slot where it would go.
    private static func find(_ hash: UInt64, _ prefix: UInt64, _ word: UnsafePointer<UInt8>, _ length: Int,
                             in slots: UnsafeBufferPointer<Slot>, arena: UnsafeBufferPointer<UInt8>, shift: Int) -> Int {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
        while true {
            let slot = slots[i]
            if slot.length == 0 { return i }
            if slot.hash == hash, Int(slot.length) == length, slot.prefix == prefix,
               length <= 8 || memcmp(arena.baseAddress! + Int(slot.start), word + 8, length - 8) == 0 {
                return i
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: 2 * old.count)
        shift -= 1
        let mask = slots.count - 1
        for slot in old where slot.length != 0 {
            var i = Int(truncatingIfNeeded: (slot.hash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
            while slots[i].length != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    /// The word's hash, eight bytes at a time, and its first eight bytes (zero-padded).
    static func hash(_ word: UnsafePointer<UInt8>, _ length: Int) -> (hash: UInt64, prefix: UInt64) {
        let raw = UnsafeRawPointer(word)
        var h = 0x9E37_79B9_7F4A_7C15 ^ UInt64(length)
        var i = 0
        while i + 8 <= length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        // The last 1–7 bytes in at most three loads, none past the word's end.
        var tail: UInt64 = 0
        let rest = length - i
        var k = 0
        if rest & 4 != 0 { tail = UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)); k = 4 }
        if rest & 2 != 0 { tail |= UInt64(raw.loadUnaligned(fromByteOffset: i + k, as: UInt16.self)) << UInt64(8 * k); k += 2 }
        if rest & 1 != 0 { tail |= UInt64(word[i + k]) << UInt64(8 * k) }
        if rest > 0 { h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53 }
        let prefix = length >= 8 ? raw.loadUnaligned(as: UInt64.self) : tail
        return (h ^ (h >> 32), prefix)
    }
}
