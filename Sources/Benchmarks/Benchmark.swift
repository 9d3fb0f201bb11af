import Clock
import Collectives
import Config
import Files
import Foundation
import Kernels
import ModelSpec
import Models
import TextData
import Training

/// Timed training steps on synthetic tokens: throughput, where the time goes, how close the
/// step is to its own GEMMs, and memory against the analytic minimum.
public enum Benchmark {
    public struct Report {
        public var ranks: Int
        public var globalBatch: Int
        public var seqLen: Int
        public var steps: Int
        /// Tokens of the global batch per second (the slowest rank's median step time).
        public var tokensPerSecond: Double
        /// This rank's figures, one entry per rank.
        public var rankTokensPerSecond: [Double]
        /// Forward FLOPs per token: Σ over layers and directions 2·(in + h)·G·h, plus 2·h·dirs·V;
        /// training is 3× that (backward twice forward).
        public var forwardFLOPsPerToken: Double
        public var flopsPerToken: Double
        public var gflopsPerSecond: Double
        /// `train.precision`, and the engine that computed the products in it (`Model.productEngine`).
        public var precision: String
        public var productEngine: String
        /// One core's peaks (CorePeak, measured by every rank before its model exists; these are
        /// rank 0's) and gflopsPerSecond per rank against them, each rank running on one core. A
        /// peak this CPU has no instructions for is NaN, null in the JSON.
        public var fp32PeakGFLOPs: Double
        public var bf16PeakGFLOPs: Double
        public var fp32PeakFraction: Double
        public var bf16PeakFraction: Double
        /// Fractions of the step: forward, backward, exposed gradient reduction, optimizer, rest.
        public var forward: Double
        public var backward: Double
        /// Rounding operands to bf16 and packing weights (`Model.conversionSeconds`), a part of
        /// forward and backward, which do not say how much falls in each.
        public var conversions: Double
        public var reductionExposed: Double
        public var optimizer: Double
        public var other: Double
        public var stepSeconds: Double
        /// Time of this step's GEMM calls replayed alone, over the step time (rank 0); NaN (null
        /// in JSON) in bf16, whose products the replay does not time.
        public var gemmEfficiency: Double
        public var gemmSeconds: Double
        public var peakRSSBytes: Double
        /// Of the resident memory after the timed steps: file-backed pages (the code of the Swift
        /// runtime, Foundation, Open MPI, OpenBLAS) and anonymous ones (the data).
        public var rssFileBytes: Double
        public var rssAnonymousBytes: Double
        /// Parameters, gradients, optimizer state, activation arena, carried state.
        public var minimumBytes: Double
        /// Seconds per step of forward and backward (the slowest rank), before any waiting.
        public var computeSeconds: Double
        /// Bytes of the gradient, and the seconds a blocking sum of it takes alone (median of 5).
        public var gradientBytes: Double
        public var allreduceSeconds: Double
        /// Embedding rows each step's sum sent packed, of `vocabulary` (`TouchedRows`); 0 when the
        /// whole embedding is summed.
        public var embeddingRowsSent: Double
        public var vocabulary: Int

        /// `bench --json`: every field under its name, keys sorted.
        public var json: JSON { JSON.fields(of: self) }
    }

    public static func run(config: TrainingConfig, comm: Communicator) throws -> Report {
        // First, while nothing else of this process runs.
        let peaks = CorePeak.measure()
        let corpus = try synthetic(config: config)
        let trainer = try Trainer(config: config, corpus: corpus, comm: comm)
        for _ in 0..<config.bench.warmup { _ = try trainer.trainStep() }
        trainer.timing = Trainer.StepTiming()
        trainer.model.timing = (0, 0)
        let conversionsBefore = trainer.model.conversionSeconds
        var times: [Double] = []
        for _ in 0..<config.bench.steps {
            let start = ContinuousClock.now
            _ = try trainer.trainStep()
            times.append(start.secondsAgo)
        }
        let t = trainer.timing, steps = Double(t.steps)
        // The median step: this machine's neighbours make the mean wander by several percent.
        let step = times.sorted()[times.count / 2]
        let passes = trainer.model.timing
        let conversions = trainer.model.conversionSeconds - conversionsBefore
        let rss = peakRSS()
        let resident = residentSplit()

        GEMMTrace.calls = []
        _ = try trainer.trainStep()
        let calls = GEMMTrace.calls!
        GEMMTrace.calls = nil
        let gemmSeconds = replay(calls)
        let allreduce = try timeAllreduce(trainer.model.gradients, comm: comm)

        let m = trainer.model.config
        let forwardFLOPs = forwardFLOPsPerToken(m)
        let tokens = Double(config.train.globalBatch * config.train.seqLen)
        let localTokens = tokens / Double(comm.size)
        // Every rank's step time, to find the slowest and report each.
        let perRank = try comm.allgather(step)
        let slowest = perRank.max()!
        let computes = try comm.allgather(t.compute / steps)
        let o = trainer.optimizer
        let minimum = Double(trainer.model.parameters.bytes * 2 + o.first.bytes + o.second.bytes + trainer.model.productBytes
                             + trainer.model.workspaceBytes)
        let gflops = 3 * forwardFLOPs * tokens / slowest / 1e9
        let fp32Peak = peaks.fp32 ?? .nan, bf16Peak = peaks.bf16 ?? .nan
        let fractions = (forward: passes.forward / t.total, backward: passes.backward / t.total,
                         reduction: t.reduction / t.total, update: t.update / t.total)
        return Report(ranks: comm.size, globalBatch: config.train.globalBatch, seqLen: config.train.seqLen,
                      steps: config.bench.steps, tokensPerSecond: tokens / slowest,
                      rankTokensPerSecond: perRank.map { localTokens / $0 },
                      forwardFLOPsPerToken: forwardFLOPs, flopsPerToken: 3 * forwardFLOPs,
                      gflopsPerSecond: gflops,
                      precision: trainer.model.precision.rawValue, productEngine: trainer.model.productEngine,
                      fp32PeakGFLOPs: fp32Peak, bf16PeakGFLOPs: bf16Peak,
                      fp32PeakFraction: gflops / Double(comm.size) / fp32Peak,
                      bf16PeakFraction: gflops / Double(comm.size) / bf16Peak,
                      forward: fractions.forward, backward: fractions.backward, conversions: conversions / t.total,
                      reductionExposed: fractions.reduction, optimizer: fractions.update,
                      other: max(0, 1 - fractions.forward - fractions.backward - fractions.reduction - fractions.update),
                      stepSeconds: step, gemmEfficiency: trainer.model.precision == .fp32 ? gemmSeconds / step : .nan, gemmSeconds: gemmSeconds,
                      peakRSSBytes: rss, rssFileBytes: resident.file, rssAnonymousBytes: resident.anonymous,
                      minimumBytes: minimum, computeSeconds: computes.max()!,
                      gradientBytes: Double(trainer.model.gradients.bytes), allreduceSeconds: allreduce,
                      embeddingRowsSent: trainer.embeddingRowsSentPerStep, vocabulary: m.vocabulary)
    }

    /// Forward FLOPs per token of a model (multiply-adds counted as 2).
    public static func forwardFLOPsPerToken(_ m: ModelConfig) -> Double {
        let V = Double(m.vocabulary), h = Double(m.hidden)
        if m.isWindowedMLP {
            return 2 * Double(m.context * m.embedding) * h + 2 * h * V
        }
        var f = 0.0
        for layer in 0..<m.layers {
            f += Double(m.directions) * 2 * (Double(m.inputSize(layer: layer)) + h) * Double(CellRegistry.gateCount(m)) * h
        }
        return f + 2 * h * Double(m.directions) * V
    }

    /// Random tokens of the configured vocabulary, enough for a few epochs' worth of steps.
    static func synthetic(config: TrainingConfig) throws -> Corpus {
        let fill = config.data.task == .fillInTheMiddle
        let plain = config.bench.vocabulary - (fill ? 1 : 0)
        let names = ["<eos>", "<unk>"] + (2..<plain).map { "t\($0)" } + (fill ? ["<mask>"] : [])
        let vocabulary = try Vocabulary(kind: .word, tokens: names, maskToken: fill ? Int32(plain) : nil)
        let span = config.train.seqLen + 1, B = config.train.globalBatch
        let count = config.data.mode == .stream ? B * span * 4 : (4 * B + 1) * span
        var rng = SplitMix64(seed: config.train.seed)
        let tokens = (0..<count).map { _ in Int32(rng.next() % UInt64(plain)) }
        return Corpus(vocabulary: vocabulary, train: tokens, validation: [])
    }

    /// Seconds the recorded GEMM calls take alone, on scratch buffers of the same shapes (best of 3).
    static func replay(_ calls: [GEMMCall]) -> Double {
        let float = calls.filter { !$0.double }
        func size(_ rows: Int, _ ld: Int) -> Int { rows * ld }
        let a = Buffer<Float>(count: float.map { size($0.transA ? $0.k : $0.m, $0.lda) }.max() ?? 1)
        let b = Buffer<Float>(count: float.map { size($0.transB ? $0.n : $0.k, $0.ldb) }.max() ?? 1)
        let c = Buffer<Float>(count: float.map { size($0.m, $0.ldc) }.max() ?? 1)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = ContinuousClock.now
            for g in float {
                gemm(transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: 1, a: a.base, lda: g.lda,
                     b: b.base, ldb: g.ldb, beta: g.beta ? 1 : 0, c: c.base, ldc: g.ldc)
            }
            best = min(best, start.secondsAgo)
        }
        return best
    }

    /// A blocking sum of the whole gradient, alone: what the communication costs unhidden.
    static func timeAllreduce(_ g: Buffer<Float>, comm: Communicator) throws -> Double {
        guard comm.size > 1 else { return 0 }
        var times: [Double] = []
        for _ in 0..<5 {
            try comm.barrier()
            let start = ContinuousClock.now
            try comm.allreduceSum(UnsafeMutableBufferPointer(start: g.base, count: g.count))
            times.append(start.secondsAgo)
        }
        return times.sorted()[2]
    }

    /// RssFile and RssAnon of /proc/self/status, in bytes (zeros where there is no /proc).
    static func residentSplit() -> (file: Double, anonymous: Double) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (field("RssFile"), field("RssAnon"))
    }

    static func peakRSS() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) * 1024
    }
}
