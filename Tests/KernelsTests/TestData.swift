import Foundation
import Kernels

/// Reproducible test inputs: a failure reruns with the same numbers.
struct TestRandom {
    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * generator.nextUnit()
    }

    mutating func array(_ count: Int, _ low: Double = -1, _ high: Double = 1) -> [Double] {
        (0..<count).map { _ in uniform(low, high) }
    }

    /// Values a Float holds exactly, so Float and Double kernels start from identical inputs.
    mutating func floatExact(_ count: Int, _ low: Double = -1, _ high: Double = 1) -> [Double] {
        array(count, low, high).map { Double(Float($0)) }
    }
}

extension Buffer where Element: Scalar {
    convenience init(doubles: [Double]) { self.init(doubles.map { Element($0) }) }
    var doubles: [Double] { array.map { Double($0) } }
}

func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
