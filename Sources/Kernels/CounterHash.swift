import CKernels
import Foundation

/// Counter-based randomness: a value is a pure function of its key, so any process that knows
/// (seed, step, global sequence index, ...) draws the same number, whatever the batch split.
public enum CounterHash {
    /// splitmix64's finaliser: a bijection on UInt64 with full avalanche.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 { rk_mix64(x) }

    /// Folds the parts of a key into one UInt64, order-sensitively.
    @inline(__always)
    public static func key(_ parts: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243f_6a88_85a3_08d3
        for p in parts { h = mix(h &+ p &* 0x9e37_79b9_7f4a_7c15) }
        return h
    }
}

/// A seeded SplitMix64 stream for initialisation and sampling; its whole state is one UInt64,
/// which a checkpoint stores.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return CounterHash.mix(state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [-bound, bound).
    public mutating func uniform(_ bound: Double) -> Double { (2 * nextUnit() - 1) * bound }

    /// Standard normal by Box–Muller.
    public mutating func normal() -> Double {
        let u1 = 1 - nextUnit()
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
