import ArgumentParser
import Benchmarks
import Collectives
import Config
import Files
import Foundation
import Kernels
import Training

/// `rnntrain bench`: timed training steps on synthetic tokens.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps of a config on synthetic tokens (use a release build).")

    @OptionGroup var configFile: ConfigOptions

    @Option(parsing: .unconditional, help: "Timed steps, ≥ 1 (default: bench.steps of the config).")
    var steps: Int?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var world: WorldOptions

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1, got \(steps)") }
    }

    func run() throws {
        try world.run { comm in
            var settings = try configFile.agreedSettings(comm)
            if let steps { settings.bench.steps = steps }
            let r = try Benchmark.run(config: settings, comm: comm)
            guard comm.isRoot else { return }
            if json {
                try StandardOutput.line(r.json.text())
                return
            }
            let name = URL(fileURLWithPath: configFile.config).deletingPathExtension().lastPathComponent
            try StandardOutput.line("bench \(name): \(r.ranks) rank\(r.ranks == 1 ? "" : "s"), OpenBLAS threads \(openBLASThreads), B \(r.globalBatch), τ \(r.seqLen), \(r.steps) timed steps")
            try StandardOutput.line("precision \(r.precision), products on \(r.productEngine)")
            try StandardOutput.line(String(format: "tokens/s %.0f   FLOPs/token %.2f M (forward %.2f M, backward 2×)   %.1f GFLOP/s",
                         r.tokensPerSecond, r.flopsPerToken / 1e6, r.forwardFLOPsPerToken / 1e6, r.gflopsPerSecond))
            try StandardOutput.line("per core against its peaks: " + peak("fp32 FMA", r.fp32PeakGFLOPs, r.fp32PeakFraction) + " | "
                  + peak("bf16 dot product", r.bf16PeakGFLOPs, r.bf16PeakFraction))
            if r.ranks > 1 {
                try StandardOutput.line("per rank tokens/s: " + r.rankTokensPerSecond.map { String(format: "%.0f", $0) }.joined(separator: ", "))
            }
            try StandardOutput.line(String(format: "step %.1f ms: forward %.0f%% | backward %.0f%% (conversions and packing %.1f%% of the step, within these two) | reduction exposed %.1f%% | optimizer %.1f%% | other %.1f%%",
                         r.stepSeconds * 1e3, r.forward * 100, r.backward * 100, r.conversions * 100,
                         r.reductionExposed * 100, r.optimizer * 100, r.other * 100))
            if r.embeddingRowsSent > 0 {
                try StandardOutput.line(String(format: "embedding: %.0f of its %d rows summed per step, the rows the step's tokens touched",
                                               r.embeddingRowsSent, r.vocabulary))
            }
            if r.gemmEfficiency.isNaN {
                try StandardOutput.line("GEMM efficiency not measured in bf16 (the replay times OpenBLAS's calls only)")
            } else {
                try StandardOutput.line(String(format: "GEMM efficiency %.2f (the step's GEMMs alone take %.1f ms)", r.gemmEfficiency, r.gemmSeconds * 1e3))
            }
            try StandardOutput.line(String(format: "peak RSS %.1f MB, analytic minimum %.1f MB (%.2f×); resident now: %.1f MB of mapped libraries, %.1f MB of data (%.2f× the minimum)",
                         r.peakRSSBytes / 1e6, r.minimumBytes / 1e6, r.peakRSSBytes / r.minimumBytes, r.rssFileBytes / 1e6,
                         r.rssAnonymousBytes / 1e6, r.rssAnonymousBytes / r.minimumBytes))
        }
    }

    /// "fp32 FMA 116.7 GFLOP/s, 0.78 of it", or that the CPU lacks the instructions (NaN).
    private func peak(_ name: String, _ gflops: Double, _ fraction: Double) -> String {
        gflops.isNaN ? "\(name) not available on this CPU" : String(format: "%@ %.1f GFLOP/s, %.2f of it", name, gflops, fraction)
    }
}
