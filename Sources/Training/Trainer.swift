import Checkpoints
import Clock
import Collectives
import Config
import Files
import Foundation
import Kernels
import ModelSpec
import Models
import TextData

/// One data-parallel training run: every rank holds a replica, computes the gradient of its
/// shard of each global batch, and applies the same update after the sums: the global batch and
/// its loss, the mean over all its target tokens, are defined once, whatever the world size.
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
    /// Sums the step over ranks: in Float, or in fixed point in deterministic mode.
    let reducer: GradientReducer
    /// The embedding rows this step touched, when the reducers send only those (`TouchedRows`).
    private let touched: TouchedRows?
    /// The update's split of the parameters: one shard per rank (`train.shard_optimizer`), or
    /// one shard, the whole buffer, that every rank updates alike.
    let shards: ParameterShards
    /// This rank's shard of `shards`.
    let shard: Int
    /// Weights and moments this rank's last update left outside the box of
    /// `Optimizer.updateIsFinite`; 1 (unknown) until the trainer's first update and after a
    /// restore. Summed over ranks with the next step's gradient: zero lets every rank skip the
    /// pass that counts non-finite results.
    private var outOfBox = 1

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
            try MemoryBudget.check(MemoryBudget.need(config: config, model: modelConfig, sequences: n, microBatches: count,
                                                     tokens: corpus.inMemory ? corpus.train.count + corpus.validation.count : 0,
                                                     shards: config.train.shardOptimizer ? comm.size : 1, ranks: comm.size),
                                   machine: MemoryBudget.machine(), sequences: n, steps: config.train.seqLen)
            model = try Model<Float>(config: modelConfig, seed: config.train.seed, precision: config.train.precision)
        } catch let e as ModelError {
            throw UserError("\(e)")
        }
        if comm.rank == 0, model.productEngine == BF16Products.Engine.emulated.rawValue {
            StandardError.line("rnntrain: \(BF16.emulationNotice)")
        }
        let sharded = config.train.shardOptimizer && comm.size > 1
        shards = ParameterShards(count: model.layout.count, parts: sharded ? comm.size : 1)
        shard = sharded ? comm.rank : 0
        optimizer = Optimizer(config: config.optimizer, range: shards.ranges[shard])
        let source = try BatchSource(config: config, tokens: corpus.train, maskToken: corpus.vocabulary.maskToken,
                                     source: config.data.path)
        self.source = source
        totalSteps = config.train.epochs > 0 ? config.train.epochs * source.stepsPerEpoch : config.train.steps
        let first = comm.rank * (config.train.globalBatch / comm.size)
        microSize = n
        let ranges = (0..<count).map { m in (first + m * n)..<(first + (m + 1) * n) }
        microRanges = ranges
        batches = try ranges.map { try source.makeBatch(sequences: $0) }
        let width = source.carriesState ? model.stateLayout.width : 0
        carried = ranges.map { range in Buffer<Float>(count: range.count * width) }
        let bf16Wire = config.train.reduce == .bf16
        touched = TouchedRows(config: config, model: model, comm: comm)
        reducer = config.train.deterministic
            ? FixedPointSumReducer(gradients: model.gradients, comm: comm, shards: sharded ? shards : nil, groups: count,
                                   bf16Wire: bf16Wire, touched: touched)
            : FloatSumReducer(gradients: model.gradients, comm: comm, shards: sharded ? shards : nil, bf16Wire: bf16Wire,
                              touched: touched)
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

    /// Embedding rows sent packed per step so far (`TouchedRows`); 0 when every step sends all.
    public var embeddingRowsSentPerStep: Double {
        guard let sent = touched?.sent, sent.steps > 0 else { return 0 }
        return Double(sent.rows) / Double(sent.steps)
    }

    public var timing = StepTiming()

    /// Forward and backward over this rank's micro-batches, sum over ranks, clip by the global
    /// norm, update. A non-finite norm skips the update (or throws, as configured). Sharded, each
    /// rank sums, clips and updates its shard, and an allgather brings the weights back.
    ///
    /// The gradient is zero when a step begins: the update clears it as it reads it, and a
    /// skipped step clears it itself.
    public func trainStep() throws -> StepReport {
        let step = state.step
        comm.step = step + 1
        let started = ContinuousClock.now
        if source.carriesState, step % source.stepsPerEpoch == 0 { resetCarriedStates() }
        let dropout = DropoutKey(seed: config.train.seed, step: UInt64(step))
        reducer.beginStep()
        touched?.beginStep()
        for m in microRanges.indices {
            let last = m == microRanges.count - 1
            try source.fill(&batches[m], step: step, sequences: microRanges[m])
            touched?.mark(batches[m])
            if last { try touched?.startUnion() }
            let part = try forwardBackward(m, dropout: dropout, observer: reducer.beginMicroBatch(m, last: last))
            try reducer.endMicroBatch(m, part, last: last)
        }
        let computed = ContinuousClock.now
        let totals = try reducer.finish(requests: StopSignals.take(), outOfBox: outOfBox)
        let reduced = ContinuousClock.now
        let count = max(1, totals.count)
        let lr = config.schedule.learningRate(base: config.optimizer.lr, step: step, total: totalSteps)
        // ‖g‖ of the mean gradient: the block sums' total does not depend on the world size or
        // the sharding.
        var report = StepReport(totals: totals, count: count, gradientNorm: totals.sumOfSquares.squareRoot() / count, lr: lr,
                                tokens: config.train.globalBatch * config.train.seqLen)
        var gathering: Instant?
        if report.gradientNorm.isFinite, report.loss.isFinite {
            let factor = clipFactor(&report)
            let scale = Float(factor / count)
            // Each |scale · g_i| ≤ scale · ‖g‖ = factor · norm, with room for rounding.
            let certain = totals.outOfBox == 0 && optimizer.updateIsFinite(gradientBound: report.gradientNorm * factor * 1.001, lr: lr)
            let overflowing = certain ? 0 : try sumOverShards(optimizer.nonfiniteResults(
                parameters: model.parameters, gradients: model.gradients, gradientScale: scale, lr: lr))
            if overflowing == 0 {
                outOfBox = optimizer.updateAndClearGradient(parameters: model.parameters, gradients: model.gradients,
                                                            gradientScale: scale, lr: lr)
                gathering = ContinuousClock.now
                try gatherParameters()
            } else {
                try skip(&report, step: step, cause: "the update would make \(overflowing) weights or optimizer moments infinite or NaN (gradient norm \(report.gradientNorm), lr \(lr))")
            }
        } else {
            try skip(&report, step: step, cause: "the gradient norm is \(report.gradientNorm)")
        }
        let finished = ContinuousClock.now
        timing.add(started: started, computed: computed, reduced: reduced, gathering: gathering ?? finished, finished: finished)
        state.step += 1
        state.tokens += report.tokens
        if comm.size > 1, state.step % config.train.checkEvery == 0 { try checkReplicas() }
        return report
    }

    // MARK: The parts of a step

    /// Stream mode: every stream starts an epoch from the zero state.
    private func resetCarriedStates() {
        for c in carried { c.zero() }
    }

    /// Forward and backward of micro-batch `m`, adding its gradient into `model.gradients`
    /// while `observer` watches the backward; stream mode carries its final state on.
    private func forwardBackward(_ m: Int, dropout: DropoutKey, observer: Model<Float>.BackwardObserver?) throws -> LossSum {
        model.observer = observer
        defer { model.observer = nil }
        let part = try model.train(batches[m], initialState: source.carriesState ? carried[m] : nil, dropout: dropout)
        if source.carriesState { carried[m].copy(from: model.finalState) }
        return part
    }

    /// `count` summed over the ranks when each counted its own shard; as it is when every rank
    /// counted the whole buffer.
    private func sumOverShards(_ count: Int) throws -> Int {
        guard shards.blocks.count > 1 else { return count }
        return Int(try comm.allgather(Int64(count)).reduce(0, +))
    }

    /// Sharded: every rank's updated shard into every rank's weights.
    private func gatherParameters() throws {
        guard shards.blocks.count > 1 else { return }
        let p = model.parameters
        try comm.allgather(UnsafeMutableBufferPointer(start: p.base, count: p.count), parts: shards.ranges)
    }

    /// min(1, θ/‖g‖) for clip.max_norm θ (0: no clipping), marking the report when it clips.
    private func clipFactor(_ report: inout StepReport) -> Double {
        let maxNorm = config.clip.maxNorm, norm = report.gradientNorm
        guard maxNorm > 0, norm > maxNorm else { return 1 }
        report.clipped = true
        return maxNorm / (norm + 1e-6)
    }

    /// A non-finite norm or loss, or an update that would overflow: no update, or an error when
    /// clip.nonfinite is abort. The gradient is cleared here, as the update would have.
    private func skip(_ report: inout StepReport, step: Int, cause: String) throws {
        if config.clip.nonfinite == .abort {
            throw UserError("step \(step + 1): \(cause) and clip.nonfinite is abort")
        }
        report.skipped = true
        state.skippedSteps += 1
        model.zeroGradients()
        // The forward of a NaN step carried NaN states on; those streams start over from zero,
        // as at an epoch's start, rather than poison every later step and the checkpoint.
        for c in carried where c.nonfiniteCount() > 0 { c.zero() }
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
            tokens = TokenPrefix(tokens, count: config.log.evalTokens)
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

    /// Records validation loss `loss` at the current step against the best so far (`state.best`);
    /// true when it is a new best. A non-finite loss is never one.
    public func recordValidation(_ loss: Double) -> Bool {
        guard loss.isFinite, state.best.map({ loss < $0.loss }) ?? true else {
            state.validationsSinceBest += 1
            return false
        }
        state.best = BestValidation(loss: loss, step: state.step)
        state.validationsSinceBest = 0
        return true
    }

    // MARK: Checkpoint state

    /// The training state with the carried states of all ranks gathered in global order, and
    /// the optimizer moments of all shards in parameter order (complete on rank 0 only).
    ///
    /// Throws when a weight, moment or state is not finite: such a checkpoint would resume into
    /// NaN, so none is written.
    public func snapshot(elapsed: Double) throws -> TrainingState {
        try requireFinite(source: "step \(state.step)", "no checkpoint is written")
        var s = state
        s.elapsed = elapsed
        s.optimizerUpdates = optimizer.updates
        s.first = try gatherMoments(optimizer.first, used: Optimizer.usesFirst(config.optimizer))
        s.second = try gatherMoments(optimizer.second, used: Optimizer.usesSecond(config.optimizer))
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
        if let wire = reducer.wire {
            var mine: [Float] = []
            for r in wire.residuals { mine += r.array }
            var all = [Float](repeating: 0, count: comm.isRoot ? mine.count * comm.size : 0)
            try mine.withUnsafeBytes { send in
                try all.withUnsafeMutableBytes { receive in
                    try comm.gather(send, into: comm.isRoot ? receive : nil, root: 0)
                }
            }
            s.residuals = all
            s.residualUnits = wire.residuals.count * comm.size
        }
        return s
    }

    /// The whole of a moment buffer, on rank 0; sharded, from every rank's shard of it (some
    /// shards are empty when the model has fewer norm blocks than there are ranks). Empty on the
    /// other ranks, which write no checkpoint: a copy there would only raise their peak memory.
    private func gatherMoments(_ moments: Buffer<Float>, used: Bool) throws -> [Float] {
        guard shards.blocks.count > 1, used else { return comm.isRoot ? moments.array : [] }
        var all = [Float](repeating: 0, count: comm.isRoot ? shards.count : 0)
        try all.withUnsafeMutableBufferPointer { receive in
            try comm.gather(UnsafeBufferPointer(start: moments.base, count: moments.count), into: comm.isRoot ? receive : nil,
                            parts: shards.ranges, root: 0)
        }
        return all
    }

    /// Takes parameters and training state from a checkpoint (identical on every rank); the
    /// moments of this rank's shard, when sharded.
    public func restore(parameters: Buffer<Float>, state restored: TrainingState, source name: String) throws {
        guard parameters.count == model.parameters.count else {
            throw UserError("\(name): \(parameters.count) parameters, the config makes \(model.parameters.count)")
        }
        model.parameters.copy(from: parameters)
        for (buffer, values, label, used) in [(optimizer.first, restored.first, "optimizer.first", Optimizer.usesFirst(config.optimizer)),
                                              (optimizer.second, restored.second, "optimizer.second", Optimizer.usesSecond(config.optimizer))] {
            let needed = used ? shards.count : 0
            guard values.count == needed else {
                throw UserError("\(name): \(label) has \(values.count) values, the optimizer needs \(needed)")
            }
            values.withUnsafeBufferPointer {
                if let b = $0.baseAddress { buffer.base.update(from: b + optimizer.range.lowerBound, count: buffer.count) }
            }
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
        if let wire = reducer.wire { restoreResiduals(wire, from: restored) }
        optimizer.updates = restored.optimizerUpdates
        outOfBox = 1
        state = restored
        state.first = []
        state.second = []
        state.states = []
        state.residuals = []
        try requireFinite(source: name, "it cannot be resumed")
    }

    /// The bf16 wire's residuals from a checkpoint: this rank's rows when the checkpoint has as
    /// many units (ranks, or deterministic groups) as this run, else the sum of its rows — the
    /// gradient rounding held back, which no row may lose — in this run's first unit. None (an fp32
    /// wire's checkpoint) starts from zero.
    private func restoreResiduals(_ wire: BF16Wire, from restored: TrainingState) {
        let units = wire.residuals.count, n = model.parameters.count
        for r in wire.residuals { r.zero() }
        guard !restored.residuals.isEmpty else { return }
        let same = restored.residualUnits == units * comm.size
        if !same, comm.isRoot {
            StandardError.line("rnntrain: resume: the checkpoint has bf16-wire residuals of \(restored.residualUnits) "
                               + "\(config.train.deterministic ? "groups" : "ranks"), this run \(units * comm.size): "
                               + "their sum goes to the first, so the run goes on, not bit for bit")
        }
        restored.residuals.withUnsafeBufferPointer { all in
            if same {
                for (u, r) in wire.residuals.enumerated() {
                    r.base.update(from: all.baseAddress! + (comm.rank * units + u) * n, count: n)
                }
            } else if comm.isRoot {
                let first = wire.residuals[0].base
                for row in 0..<restored.residualUnits {
                    for i in 0..<n { first[i] += all[row * n + i] }
                }
            }
        }
    }

    /// Throws when a parameter, optimizer moment or carried state is infinite or NaN, on every
    /// rank alike: each counts its part (the weights of its shard of a W-way split, its moments,
    /// its streams' states) and the counts are summed over ranks.
    private func requireFinite(source: String, _ consequence: String) throws {
        let weights = ParameterShards(count: shards.count, parts: comm.size).ranges[comm.rank]
        let moments = weights.clamped(to: optimizer.range)
        let local = moments.lowerBound - optimizer.range.lowerBound..<moments.upperBound - optimizer.range.lowerBound
        var counts = [Int64(model.parameters.nonfiniteCount(in: weights)),
                      Int64(optimizer.first.count == 0 ? 0 : optimizer.first.nonfiniteCount(in: local)),
                      Int64(optimizer.second.count == 0 ? 0 : optimizer.second.nonfiniteCount(in: local)),
                      Int64(carried.reduce(0) { $0 + $1.nonfiniteCount() })]
        try counts.withUnsafeMutableBufferPointer { try comm.allreduceSum($0) }
        var bad: [String] = []
        for (n, label) in zip(counts, ["weights", "first moments", "second moments", "carried states"]) where n > 0 {
            bad.append("\(n) \(label)")
        }
        guard bad.isEmpty else {
            throw UserError("\(source): \(bad.joined(separator: ", ")) are infinite or NaN; \(consequence)")
        }
    }
}
