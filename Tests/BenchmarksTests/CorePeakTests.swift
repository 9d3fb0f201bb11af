@testable import Benchmarks
import Foundation
import Training
import XCTest

/// The peak loops count what they compute: every fp32 FMA lane adds y (2 FLOPs), every bf16
/// dot-product lane adds 1·y + 1·y (4 FLOPs), so the accumulators' sum is FLOPs · y / 2 in both,
/// and on this machine's AVX-512 kernels the count is the closed form of 16 accumulators × 16 lanes.
final class CorePeakTests: XCTestCase {
    /// A power of two: the products and every partial sum below are exact in fp32 and in bf16.
    private let y: Float = 0.25

    func testTheFP32LoopDoesTheFLOPsItCounts() throws {
        for iterations in [1, 1000, 4097] {
            let run = CorePeak.fp32(iterations: iterations, y: y)
            XCTAssertGreaterThan(run.flops, 0, "no fp32 kernel for this CPU")
            XCTAssertEqual(run.checksum, run.flops * Double(y) / 2, "iterations \(iterations)")
            if cpuFlags().contains("avx512f") {
                XCTAssertEqual(run.flops, Double(iterations * 16 * 16 * 2), "iterations \(iterations)")
            }
        }
    }

    func testTheBF16LoopDoesTheFLOPsItCounts() throws {
        guard cpuFlags().contains("avx512_bf16") else {
            XCTAssertEqual(CorePeak.bf16(iterations: 10, y: y).flops, 0, "a bf16 kernel on a CPU without AVX512_BF16")
            XCTAssertNil(CorePeak.measure(seconds: 0.001).bf16)
            return
        }
        for iterations in [1, 1000, 4097] {
            let run = CorePeak.bf16(iterations: iterations, y: y)
            XCTAssertEqual(run.flops, Double(iterations * 16 * 16 * 4), "iterations \(iterations)")
            XCTAssertEqual(run.checksum, run.flops * Double(y) / 2, "iterations \(iterations)")
        }
    }

    /// y is rounded to bf16 for the dot products, to nearest even: 1 + 2⁻⁸ lies halfway between
    /// 1 and 1 + 2⁻⁷ and goes to 1, so the sum shows the loop really multiplies bf16 operands.
    func testTheBF16LoopRoundsItsOperandToBF16() throws {
        try XCTSkipUnless(cpuFlags().contains("avx512_bf16"), "no AVX512_BF16")
        let run = CorePeak.bf16(iterations: 8, y: 1 + 0x1p-8)
        XCTAssertEqual(run.checksum, run.flops / 2)
    }

    func testMeasuredRatesMatchTheCPU() {
        let rates = CorePeak.measure(seconds: 0.005)
        XCTAssertGreaterThan(rates.fp32 ?? 0, 0)
        XCTAssertEqual(rates.bf16 != nil, cpuFlags().contains("avx512_bf16"))
    }

    private func cpuFlags() -> Set<String> {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }
}
