import Collectives
import Dispatch
import Foundation
import Models
import Numerics

/// One data-parallel training run: every rank holds a replica, computes the gradient of its
/// shard of each global batch, and applies the same update after the sums (DESIGN.md, idea 5).
///
/// Rank r of P owns global sequences [r·B/P, (r+1)·B/P), cut into `accumulate` micro-batches.
public final class Trainer {
    public let config: TrainingConfig
    public let comm: Communicator
    public let corpus: Corpus
    public let model: Model<Float>
    public private(set) var optimizer: Optimizer
    public let source: BatchSource
    public let totalSteps: Int
    /// Counters and clock of the run so far (restored on resume).
    public private(set) var state = TrainingState()

    /// Sequences per micro-batch on this rank, and the global ranges of this rank's micro-batches.
    let microSize: Int
    let microRanges: [Range<Int>]
    private var batches: [Batch]
    /// Stream mode: the carried state of each micro-batch [microSize × state width].
    private let carried: [Buffer<Float>]
    /// [loss, count, correct] of the step, summed over ranks.
    private let scalars = Buffer<Double>(count: 3)
    /// The same as integers for the sum: [loss in fixed point, count, correct, ranks whose loss
    /// could not be encoded, then ranks with a pending SIGTERM, SIGINT, SIGUSR1].
    private let counters = Buffer<Int64>(count: 7)
    /// Deterministic mode: the gradient in fixed point, then loss (fixed point), count,
    /// correct, and the number of entries that could not be encoded.
    private let fixed: Buffer<Int64>

    public init(config: TrainingConfig, corpus: Corpus, comm: Communicator) throws {
        let (n, count) = try Trainer.microBatches(config: config, worldSize: comm.size)
        comm.timeout = config.train.stepTimeout
        self.config = config
        self.comm = comm
        self.corpus = corpus
        var modelConfig = config.model
        modelConfig.vocabulary = corpus.vocabulary.count
        do {
            try modelConfig.validate()
            try MemoryBudget.check(MemoryBudget.need(config: config, model: modelConfig, sequences: n),
                                   machine: MemoryBudget.machine(), sequences: n, steps: config.train.seqLen)
            model = try Model<Float>(config: modelConfig, seed: config.train.seed)
        } catch let e as ModelError {
            throw UserError("\(e)")
        }
        optimizer = Optimizer(config: config.optimizer, parameterCount: model.layout.count)
        let source = try BatchSource(config: config, tokens: corpus.train, maskToken: corpus.vocabulary.maskToken,
                                     source: config.data.path)
        self.source = source
        totalSteps = config.train.epochs > 0 ? config.train.epochs * source.stepsPerEpoch : config.train.steps
        let first = comm.rank * (config.train.globalBatch / comm.size)
        microSize = n
        let ranges = (0..<count).map { m in (first + m * n)..<(first + (m + 1) * n) }
        microRanges = ranges
        batches = ranges.map { source.makeBatch(sequences: $0) }
        let width = source.carriesState ? model.stateLayout.width : 0
        carried = ranges.map { range in Buffer<Float>(count: range.count * width) }
        fixed = Buffer(count: config.train.deterministic ? model.layout.count + 7 : 0)
    }

    /// Sequences per micro-batch and micro-batches per rank: B / (P · accumulate) sequences in
    /// `accumulate` parts, or in deterministic mode groups of `deterministic_group`. A world
    /// size that does not divide the batch is an error every rank finds alike, before any
    /// collective.
    public static func microBatches(config: TrainingConfig, worldSize P: Int) throws -> (size: Int, count: Int) {
        let B = config.train.globalBatch
        if config.train.deterministic {
            let g = config.train.deterministicGroup
            guard B % (P * g) == 0 else {
                throw AgreedError(description: "train.global_batch \(B) does not divide into \(P) ranks × groups of \(g) (train.deterministic_group)")
            }
            return (g, B / (P * g))
        }
        let a = config.train.accumulate
        guard B % (P * a) == 0 else {
            throw AgreedError(description: "train.global_batch \(B) does not divide into \(P) ranks × \(a) micro-batches (train.accumulate)")
        }
        return (B / (P * a), a)
    }

    public var step: Int { state.step }

    /// Seconds per phase, summed over the steps since `timing` was last reset (benchmarks).
    public struct StepTiming {
        public var compute = 0.0
        /// Waiting for the gradient sum after this rank's backward finished: the part of
        /// communication on the critical path.
        public var reduction = 0.0
        /// Norm, clipping and the optimizer.
        public var update = 0.0
        public var total = 0.0
        public var steps = 0
    }

    public var timing = StepTiming()
    private var gradientsClear = false

    /// What one step did, in global terms.
    public struct StepReport {
        public var loss: Double
        public var tokens: Int
        public var gradientNorm: Double
        public var clipped: Bool
        public var skipped: Bool
        public var lr: Double
        /// A rank got SIGTERM (15) or SIGINT (2): stop after this step.
        public var stopSignal: Int32 = 0
        /// A rank got SIGUSR1: write a checkpoint after this step.
        public var checkpointRequested = false
    }

    /// Forward and backward over this rank's micro-batches, sum over ranks, clip by the global
    /// norm, update. A non-finite norm skips the update (or throws, as configured).
    public func trainStep() throws -> StepReport {
        let step = state.step
        comm.step = step + 1
        let started = DispatchTime.now().uptimeNanoseconds
        // An applied update leaves the gradient cleared; a skipped one does not.
        if !gradientsClear { model.zeroGradients() }
        if source.carriesState, step % source.stepsPerEpoch == 0 {
            for c in carried { c.zero() }
        }
        var local = LossSum()
        var unencodable = 0
        let key = DropoutKey(seed: config.train.seed, step: UInt64(step))
        let g = model.gradients, deterministic = config.train.deterministic
        if deterministic { fixed.zero() }
        // The last micro-batch's backward finishes the gradient range by range; each range's
        // sum starts at once and advances while backward goes on (DESIGN.md, idea 1). In
        // deterministic mode the range is first added into the fixed-point sum, whose Int64
        // ranges are summed alike: integer sums do not depend on how they are split.
        var pending: [Reduction] = []
        var failure: Error?
        let f = fixed
        for m in microRanges.indices {
            source.fill(&batches[m], step: step, sequences: microRanges[m])
            if deterministic { model.zeroGradients() }
            let last = m == microRanges.count - 1
            if last {
                model.observer = Model.BackwardObserver(
                    ready: { range in
                        do {
                            let lo = range.lowerBound, n = range.count
                            if deterministic {
                                unencodable += FixedPoint.accumulate(g.base + lo, into: f.base + lo, count: n)
                                pending.append(try self.comm.startAllreduceSum(UnsafeMutableBufferPointer(start: f.base + lo, count: n)))
                            } else {
                                pending.append(try self.comm.startAllreduceSum(UnsafeMutableBufferPointer(start: g.base + lo, count: n)))
                            }
                        } catch { failure = failure ?? error }
                    },
                    poll: {
                        do { _ = try self.comm.test(pending) } catch { failure = failure ?? error }
                    })
            }
            defer { model.observer = nil }
            let part = try model.train(batches[m], initialState: source.carriesState ? carried[m] : nil, dropout: key)
            if let failure { throw failure }
            if source.carriesState { carried[m].copy(from: model.finalState) }
            local += part
            if deterministic {
                if !last { unencodable += FixedPoint.accumulate(g.base, into: fixed.base, count: g.count) }
                fixed[g.count] &+= FixedPoint.encode(part.loss)
            }
        }
        let computed = DispatchTime.now().uptimeNanoseconds
        let signals = StopSignals.take()
        var requests: (term: Int64, int: Int64, usr1: Int64)
        if deterministic {
            fixed[g.count + 1] = Int64(local.count)
            fixed[g.count + 2] = Int64(local.correct)
            fixed[g.count + 3] = Int64(unencodable)
            (fixed[g.count + 4], fixed[g.count + 5], fixed[g.count + 6]) = signals
            pending.append(try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: fixed.base + g.count, count: 7)))
            try comm.wait(pending)
            FixedPoint.decode(fixed.base, into: g.base, count: g.count)
            scalars[0] = fixed[g.count + 3] == 0 ? Double(fixed[g.count]) / FixedPoint.scale : .nan
            scalars[1] = Double(fixed[g.count + 1])
            scalars[2] = Double(fixed[g.count + 2])
            requests = (fixed[g.count + 4], fixed[g.count + 5], fixed[g.count + 6])
        } else {
            // Loss (fixed point), count and correct travel with the gradient, under the same timeout.
            let loss = FixedPoint.encode(local.loss)
            counters[0] = loss == Int64.max ? 0 : loss
            counters[1] = Int64(local.count)
            counters[2] = Int64(local.correct)
            counters[3] = loss == Int64.max ? 1 : 0
            (counters[4], counters[5], counters[6]) = signals
            pending.append(try comm.startAllreduceSum(UnsafeMutableBufferPointer(start: counters.base, count: 7)))
            try comm.wait(pending)
            scalars[0] = counters[3] == 0 ? Double(counters[0]) / FixedPoint.scale : .nan
            scalars[1] = Double(counters[1])
            scalars[2] = Double(counters[2])
            requests = (counters[4], counters[5], counters[6])
        }
        let reduced = DispatchTime.now().uptimeNanoseconds
        let count = max(1, scalars[1])
        let norm = Float.sumOfSquares(count: g.count, x: g.base).squareRoot() / count
        let lr = config.schedule.learningRate(base: config.optimizer.lr, step: step, total: totalSteps)
        var report = StepReport(loss: scalars[0] / count, tokens: config.train.globalBatch * config.train.seqLen,
                                gradientNorm: norm, clipped: false, skipped: false, lr: lr)
        report.stopSignal = requests.term > 0 ? SIGTERM : (requests.int > 0 ? SIGINT : 0)
        report.checkpointRequested = requests.usr1 > 0
        if !norm.isFinite || !report.loss.isFinite {
            if config.clip.nonfinite == .abort {
                throw UserError("step \(step + 1): the gradient norm is \(norm) and clip.nonfinite is abort")
            }
            report.skipped = true
            state.skippedSteps += 1
        } else {
            let maxNorm = config.clip.maxNorm
            var factor = 1.0
            if maxNorm > 0, norm > maxNorm {
                factor = maxNorm / (norm + 1e-6)
                report.clipped = true
            }
            optimizer.updateAndClearGradient(parameters: model.parameters, gradients: g, gradientScale: Float(factor / count), lr: lr)
        }
        gradientsClear = !report.skipped
        let finished = DispatchTime.now().uptimeNanoseconds
        timing.compute += Double(computed - started) * 1e-9
        timing.reduction += Double(reduced - computed) * 1e-9
        timing.update += Double(finished - reduced) * 1e-9
        timing.total += Double(finished - started) * 1e-9
        timing.steps += 1
        state.step += 1
        state.tokens += report.tokens
        if comm.size > 1, state.step % config.train.checkEvery == 0 { try checkReplicas() }
        return report
    }

    /// Every rank's parameter hash, compared: replicas that drifted apart end the job.
    func checkReplicas() throws {
        let p = model.parameters
        let digest = SHA256.hash(UnsafeRawBufferPointer(start: p.base, count: p.count * MemoryLayout<Float>.size))
        let hashes = try comm.allgather(digest.prefix(8).reduce(0) { $0 << 8 | Int64($1) })
        let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differing.isEmpty else {
            throw AgreedError(description: "replicas differ after step \(state.step): rank 0's parameters do not match rank\(differing.count > 1 ? "s" : "") \(differing.map(String.init).joined(separator: ", "))")
        }
    }

    /// Loss on the validation tokens (the first `log.eval_tokens` of them when set), read as
    /// contiguous streams with carried state, or as masked windows for fill-in-the-middle.
    /// Nil when there is no validation text.
    public func validate() throws -> LossSum? {
        var tokens = corpus.validation
        if config.log.evalTokens > 0, tokens.count > config.log.evalTokens {
            tokens = Array(tokens[..<config.log.evalTokens])
        }
        let tau = config.train.seqLen
        if config.data.task == .fillInTheMiddle {
            guard tokens.count >= tau else { return nil }
            return try Evaluation.fillLoss(model: model, tokens: tokens, steps: tau, maskToken: corpus.vocabulary.maskToken!,
                                           rate: config.data.maskRate, perBatch: microSize, comm: comm, source: "validation")
        }
        // As many streams as a micro-batch step has, fewer when the text is short.
        var streams = microSize * comm.size
        while streams > comm.size, tokens.count < streams * (tau + 1) { streams -= comm.size }
        guard tokens.count >= streams + 1 else { return nil }
        return try Evaluation.streamLoss(model: model, tokens: tokens, streams: streams, steps: tau, comm: comm,
                                         source: "validation")
    }

    // MARK: Checkpoint state

    /// The training state with the carried states of all ranks gathered in global order
    /// (complete on rank 0 only).
    public func snapshot(elapsed: Double) throws -> TrainingState {
        var s = state
        s.elapsed = elapsed
        s.optimizerUpdates = optimizer.updates
        s.first = optimizer.first.array
        s.second = optimizer.second.array
        if source.carriesState {
            let width = model.stateLayout.width
            var mine: [Float] = []
            for c in carried { mine += c.array }
            var all = [Float](repeating: 0, count: comm.isRoot ? mine.count * comm.size : 0)
            try mine.withUnsafeBytes { send in
                try all.withUnsafeMutableBytes { receive in
                    try comm.gather(send, into: comm.isRoot ? receive : nil, root: 0)
                }
            }
            s.states = all
            s.stateWidth = width
        }
        return s
    }

    /// Takes parameters and training state from a checkpoint (identical on every rank).
    public func restore(parameters: Buffer<Float>, state restored: TrainingState, source name: String) throws {
        guard parameters.count == model.parameters.count else {
            throw UserError("\(name): \(parameters.count) parameters, the config makes \(model.parameters.count)")
        }
        model.parameters.copy(from: parameters)
        for (buffer, values, label) in [(optimizer.first, restored.first, "optimizer.first"),
                                        (optimizer.second, restored.second, "optimizer.second")] {
            guard values.count == buffer.count else {
                throw UserError("\(name): \(label) has \(values.count) values, the optimizer needs \(buffer.count)")
            }
            values.withUnsafeBufferPointer { if let b = $0.baseAddress { buffer.base.update(from: b, count: values.count) } }
        }
        if source.carriesState {
            let width = model.stateLayout.width
            guard restored.stateWidth == width, restored.states.count == config.train.globalBatch * width else {
                throw UserError("\(name): carried states do not match \(config.train.globalBatch) streams of width \(width)")
            }
            for (m, range) in microRanges.enumerated() {
                restored.states.withUnsafeBufferPointer {
                    carried[m].base.update(from: $0.baseAddress! + range.lowerBound * width, count: range.count * width)
                }
            }
        }
        optimizer.updates = restored.optimizerUpdates
        state = restored
        state.first = []
        state.second = []
        state.states = []
    }
}
