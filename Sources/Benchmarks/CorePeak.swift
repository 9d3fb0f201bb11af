import CKernels
import Clock
import Training

/// What one core can compute at most, measured rather than read from a data sheet: the clock
/// under load (turbo, a virtual machine's share) is what bounds a step, and no table knows it.
/// The loops are in CKernels/peaks.c; bench reports its GFLOP/s as fractions of both figures.
public enum CorePeak {
    /// GFLOP/s of one core; `bf16` is nil on a CPU without AVX512_BF16, `fp32` nil without
    /// AVX-512F or AVX2 + FMA.
    public struct Rates: Sendable {
        public var fp32: Double?
        public var bf16: Double?
    }

    /// One run of a peak loop: the FLOPs it reports (0: no kernel on this CPU) and the sum of
    /// its accumulator lanes.
    public struct Run: Sendable {
        public var flops: Double
        public var checksum: Double
    }

    /// `iterations` of the fp32 loop, acc ← acc·1 + y.
    public static func fp32(iterations: Int, y: Float) -> Run {
        var checksum = 0.0
        let flops = rk_peak_fp32(iterations, 1, y, &checksum)
        return Run(flops: flops, checksum: checksum)
    }

    /// `iterations` of the bf16 loop, acc ← acc + 1·bf16(y) + 1·bf16(y).
    public static func bf16(iterations: Int, y: Float) -> Run {
        var checksum = 0.0
        let flops = rk_peak_bf16(iterations, y, &checksum)
        return Run(flops: flops, checksum: checksum)
    }

    /// Both peaks, each the best of 3 runs of about `seconds`. A tiny y keeps the accumulators
    /// far from overflow however long a run is.
    public static func measure(seconds: Double = 0.03) -> Rates {
        Rates(fp32: rate(seconds: seconds) { fp32(iterations: $0, y: 1e-9) },
              bf16: rate(seconds: seconds) { bf16(iterations: $0, y: 1e-9) })
    }

    /// GFLOP/s of a loop: a short run sizes the iteration count to `seconds`, then the fastest
    /// of 3 (a neighbour's interruption only ever slows a run down).
    static func rate(seconds: Double, _ loop: (Int) -> Run) -> Double? {
        func timed(_ iterations: Int) -> (run: Run, seconds: Double) {
            let start = ContinuousClock.now
            let run = loop(iterations)
            return (run, start.secondsAgo)
        }
        let probeIterations = 1 << 14
        let probe = timed(probeIterations)
        guard probe.run.flops > 0 else { return nil }
        let iterations = max(probeIterations, Int(Double(probeIterations) * seconds / max(probe.seconds, 1e-9)))
        var best = 0.0
        for _ in 0..<3 {
            let (run, elapsed) = timed(iterations)
            best = max(best, run.flops / elapsed / 1e9)
        }
        return best
    }
}
