import Foundation
import Kernels
import XCTest

/// The seeded stream behind initialisation: it must be SplitMix64 (so a checkpointed state
/// resumes it), reproducible from the seed, and its normals standard.
final class SplitMix64Tests: XCTestCase {
    /// Published SplitMix64 outputs for seed 1234567 (Rosetta Code, "Pseudo-random numbers/Splitmix64").
    func testMatchesPublishedSequence() {
        var g = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                                  4_593_380_528_125_082_431, 16_408_922_859_458_223_821]
        XCTAssertEqual((0..<5).map { _ in g.next() }, expected)
    }

    func testReproducibleFromSeedAndResumableFromState() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        XCTAssertEqual(first, (0..<8).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<8).map { _ in c.next() })
        // A checkpoint stores `state`; a generator rebuilt from it continues the same stream.
        var resumed = SplitMix64(seed: 0)
        resumed.state = a.state
        XCTAssertEqual((0..<4).map { _ in a.next() }, (0..<4).map { _ in resumed.next() })
    }

    func testUnitAndUniformRanges() {
        var g = SplitMix64(seed: 5)
        var low = 1.0, high = 0.0
        for _ in 0..<10_000 {
            let u = g.nextUnit()
            XCTAssertTrue(u >= 0 && u < 1, "nextUnit \(u)")
            low = min(low, u); high = max(high, u)
            let v = g.uniform(0.25)
            XCTAssertTrue(v >= -0.25 && v < 0.25, "uniform(0.25) \(v)")
        }
        // 10 000 draws reach within 1e-3 of both ends with overwhelming probability.
        XCTAssertLessThan(low, 1e-3)
        XCTAssertGreaterThan(high, 1 - 1e-3)
    }

    /// N = 20 000 normals: mean has standard error 1/√N ≈ 0.0071, the variance √(2/N) ≈ 0.01,
    /// the fraction within ±1 (0.6827) √(0.68·0.32/N) ≈ 0.0033. All allowed 4 standard errors.
    func testNormalIsStandard() {
        var g = SplitMix64(seed: 2024)
        let N = 20_000
        let x = (0..<N).map { _ in g.normal() }
        let mean = x.reduce(0, +) / Double(N)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(N - 1)
        let withinOne = Double(x.filter { abs($0) < 1 }.count) / Double(N)
        XCTAssertEqual(mean, 0, accuracy: 4 / Double(N).squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 4 * (2 / Double(N)).squareRoot())
        XCTAssertEqual(withinOne, erf(1 / 2.0.squareRoot()), accuracy: 4 * (0.6827 * 0.3173 / Double(N)).squareRoot())
        XCTAssertTrue(x.allSatisfy { $0.isFinite })
    }
}
