import Kernels
import XCTest

/// Dropout masks are keyed by CounterHash.key(seed, step, sequence, site, position): it must be a
/// pure function of its parts, and distinguish their order and number.
final class CounterHashTests: XCTestCase {
    func testKeyIsDeterministic() {
        XCTAssertEqual(CounterHash.key(1, 2, 3, 4, 5), CounterHash.key(1, 2, 3, 4, 5))
    }

    func testKeyIsOrderSensitive() {
        XCTAssertNotEqual(CounterHash.key(1, 2), CounterHash.key(2, 1))
        XCTAssertNotEqual(CounterHash.key(7, 0, 3), CounterHash.key(7, 3, 0))
    }

    func testKeyDistinguishesLengthAndEveryPart() {
        XCTAssertNotEqual(CounterHash.key(1, 2), CounterHash.key(1, 2, 0))
        XCTAssertNotEqual(CounterHash.key(), CounterHash.key(0))
        let base: [UInt64] = [11, 22, 33, 44, 55]
        var seen: Set<UInt64> = [key(base)]
        for i in base.indices {
            var changed = base
            changed[i] += 1
            XCTAssertTrue(seen.insert(key(changed)).inserted, "changing part \(i) must change the key")
        }
    }

    /// Neighbouring sequences / positions must not give correlated keys: over 4096 consecutive
    /// counters each output bit is set about half the time (σ = 32; allow 5σ).
    func testKeysOfConsecutiveCountersLookRandom() {
        var ones = [Int](repeating: 0, count: 64)
        for i in 0..<4096 {
            let k = CounterHash.key(3, 1, UInt64(i))
            for b in 0..<64 where (k >> UInt64(b)) & 1 == 1 { ones[b] += 1 }
        }
        for (b, count) in ones.enumerated() { XCTAssertEqual(Double(count), 2048, accuracy: 160, "bit \(b)") }
    }

    private func key(_ parts: [UInt64]) -> UInt64 {
        CounterHash.key(parts[0], parts[1], parts[2], parts[3], parts[4])
    }
}
