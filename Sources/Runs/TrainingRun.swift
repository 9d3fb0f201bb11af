import Checkpoints
import Clock
import Collectives
import Config
import Files
import Foundation
import Kernels
import Models
import PreparedData
import TextData
import Training

/// A run directory and the loop around the trainer: lock, resume, log, validate, checkpoint.
///
/// Layout: `run.lock`, `config.yaml` (resolved), `metrics.jsonl`, `checkpoints/step-NNNNNNNN/`,
/// `data/` (a text `data.path` prepared, `RunDataset`), and with `log.tensorboard: true`,
/// `tb/events.out.tfevents.<time>.<host>` (one per session). Only rank 0 writes it, and only
/// while it holds `run.lock`; every rank maps the prepared dataset.
public final class TrainingRun {
    public let config: TrainingConfig
    public let directory: URL
    public let comm: Communicator
    public let trainer: Trainer
    let store: CheckpointStore
    /// Rank 0's standard output; other ranks print nothing.
    let output = TrainingOutput()
    /// Digest of the corpus's tokens, recorded in every checkpoint and checked on resume.
    let dataDigest: String
    /// The library kernels this rank computes with, recorded in every checkpoint and checked on resume.
    let kernels: ComputeKernels
    /// Rank 0's hold on the run directory, for the life of the run (nil on other ranks).
    private let lock: RunLock?
    private let started = ContinuousClock.now
    var elapsedBefore = 0.0
    /// The checkpoint resumed from is at or beyond the last step: `run()` has nothing to do.
    private var upToDate = false
    /// Checkpoints that failed to write under `checkpoint.on_error: continue` (rank 0).
    public private(set) var failedCheckpoints = 0
    /// Rank 0's event file of this session, with `log.tensorboard` (nil otherwise and on other ranks).
    private var tensorboard: TensorBoardLog?

    /// `resume`: nil (start fresh; the directory must hold no checkpoint), "auto" (the newest
    /// valid checkpoint, or a fresh start when there is none at all) or a checkpoint directory;
    /// `policy` allows what a resume refuses by default. Throws when another run holds the directory.
    public init(config: TrainingConfig, directory: URL, resume: String?, policy: ResumePolicy = ResumePolicy(),
                comm: Communicator) throws {
        self.config = config
        self.directory = directory
        self.comm = comm
        let store = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        self.store = store
        // Rank 0's choice, so that every rank makes the same collectives.
        let fromText = try Sharing.broadcast([PreparedDataset.isDataset(config.data.path) ? 0 : 1], comm: comm) == [1]
        var lock: RunLock?
        var prepared: RunDataset.Outcome?
        do {
            var mapped: (corpus: Corpus?, why: String) = (nil, "")
            if fromText {
                // Preparing writes into the run directory, so the lock comes first; a start-up
                // refused leaves it as it was: the lock withdraws, the dataset is undone.
                lock = try agree(comm) { comm.isRoot ? try RunLock(directory: directory) : nil }
                // Rank 0 prepares for as long as the corpus takes, which no step's bound fits:
                // the others wait `train.step_timeout` plus a second per megabyte of text, 60 to
                // 130 times what preparing takes here, so that a rank 0 stopped or lost while it
                // prepares still ends the job.
                let stepTimeout = comm.timeout
                comm.timeout = stepTimeout + Double(RunDataset.textBytes(config.data)) / 1e6
                prepared = try agree(comm) { comm.isRoot ? try RunDataset.ensure(data: config.data, runDirectory: directory) : nil }
                comm.timeout = stepTimeout
                if let line = prepared.flatMap({ RunDataset.describe($0, data: config.data, runDirectory: directory) }) {
                    output.line(line)
                }
                mapped = try RunDataset.open(data: config.data, runDirectory: directory, comm: comm)
            }
            trainer = try agree(comm) {
                let corpus: Corpus
                if fromText {
                    corpus = try mapped.corpus ?? RunDataset.readText(config.data, why: mapped.why, rank: comm.rank)
                } else if PreparedDataset.isDataset(config.data.path) {
                    corpus = try PreparedDataset.open(config.data.path, data: config.data)
                } else {
                    // Another rank's text, where rank 0 names a prepared dataset: read as before.
                    corpus = try RunDataset.readText(config.data, why: "rank 0 trains from a prepared dataset", rank: comm.rank)
                }
                return try Trainer(config: config, corpus: corpus, comm: comm)
            }
            kernels = trainer.model.kernels
            try SettingsAgreement.check(config: config, corpus: trainer.corpus, kernels: kernels, comm: comm)
            dataDigest = try SettingsAgreement.dataDigest(trainer.corpus)
            // After the config and the corpus are read, which touch nothing here, so that bad input
            // leaves no trace; before any checkpoint is read, so no other run prunes it under us.
            if !fromText { lock = try agree(comm) { comm.isRoot ? try RunLock(directory: directory) : nil } }
            self.lock = lock
            try start(resume: resume, policy: policy)
        } catch {
            if let prepared { try? RunDataset.undo(prepared, runDirectory: directory) }
            lock?.withdraw()
            throw error
        }
        if let prepared { RunDataset.keep(prepared, runDirectory: directory) }
    }

    /// Resumes or starts fresh, then saves the resolved config, unless nothing is left to do.
    private func start(resume: String?, policy: ResumePolicy) throws {
        let checkpoint = try findCheckpoint(resume, policy: policy)
        if let checkpoint {
            try agree(comm) { try restore(from: checkpoint, policy: policy) }
            if let nothingToDo {
                log(nothingToDo)
                upToDate = true
                return
            }
        } else {
            try broadcastParameters()
        }
        try agree(comm) {
            guard comm.isRoot else { return }
            // First: a TensorBoard directory that cannot be used is bad input, refused before
            // anything is written into the run directory.
            tensorboard = try TensorBoardLog.directory(config.log.tensorboard, runDirectory: directory).map {
                try TensorBoardLog(directory: $0, firstStep: trainer.step + 1)
            }
            try FileIO.makeOwnDirectory(store.directory)
            if tracksBest { try store.requireBestReplaceable() }
            try FileIO.writeAtomically(Array(config.yaml().utf8), to: directory.appendingPathComponent("config.yaml"))
        }
    }

    /// All ranks start from rank 0's parameters.
    private func broadcastParameters() throws {
        let p = trainer.model.parameters
        try comm.broadcast(UnsafeMutableRawBufferPointer(start: p.base, count: p.count * 4), root: 0)
    }

    func log(_ line: String) {
        if comm.isRoot { output.line(line) }
    }

    private var elapsed: Double { elapsedBefore + started.secondsAgo }

    /// Trains to the last step, logging every `log.every` steps, validating every
    /// `log.eval_every`, and writing a checkpoint every `checkpoint.every` steps and at the end.
    public func run() throws {
        guard !upToDate else { return }
        let total = trainer.totalSteps
        let metrics = comm.isRoot ? try MetricsLog(url: directory.appendingPathComponent("metrics.jsonl")) : nil
        let progress = ProgressLine(output: output)
        var interval = (loss: 0.0, steps: 0, tokens: 0, clipped: 0, start: ContinuousClock.now)
        var timing = trainer.timing
        var warned = false
        log("training \(trainer.model.layout.count) parameters on \(comm.size) rank\(comm.size == 1 ? "" : "s"), steps \(trainer.step + 1)...\(total)")
        while trainer.step < total {
            let report = try trainer.trainStep()
            let step = trainer.step
            if !report.skipped {
                interval.loss += report.loss
                interval.steps += 1
            }
            interval.tokens += report.tokens
            interval.clipped += report.clipped ? 1 : 0
            let evaluate = config.log.evalEvery > 0 && (step % config.log.evalEvery == 0 || step == total)
            let validation = evaluate ? try trainer.validate() : nil
            let valLoss = validation.map { $0.loss / Double(max(1, $0.count)) }
            let newBest = tracksBest && valLoss.map(trainer.recordValidation) == true
            let patienceSpent = config.train.earlyStop > 0 && trainer.state.validationsSinceBest >= config.train.earlyStop
            if step % config.log.every == 0 || step == total || validation != nil {
                let seconds = interval.start.secondsAgo
                let rate = Double(interval.tokens) / max(seconds, 1e-9)
                let loss = interval.steps > 0 ? interval.loss / Double(interval.steps) : .nan
                let times = try RankTimes.gather(since: timing, now: trainer.timing, comm: comm)
                timing = trainer.timing
                if comm.isRoot, !warned, let warning = times.warning(hosts: comm.hosts, step: step) {
                    warned = true
                    progress.finish()
                    StandardError.line("rnntrain: warning: \(warning)")
                }
                if comm.isRoot {
                    let eta = Double(total - step) * Double(config.train.globalBatch * config.train.seqLen) / rate
                    progress.show(step: step, total: total, loss: loss, validation: valLoss, gradientNorm: report.gradientNorm,
                                  clipped: report.clipped, skipped: trainer.state.skippedSteps, lr: report.lr,
                                  tokensPerSecond: rate, eta: eta, ranks: comm.size > 1 ? times : nil)
                    let record: [(String, JSON?)] = [
                        ("step", .number(step)), ("tokens", .number(trainer.state.tokens)),
                        ("loss", .number(loss)), ("val_loss", valLoss.map(JSON.number)),
                        ("best_val_loss", trainer.state.best.map { .number($0.loss) }),
                        ("grad_norm", .number(report.gradientNorm)), ("clipped", .number(interval.clipped)),
                        ("skipped", .number(trainer.state.skippedSteps)), ("lr", .number(report.lr)),
                        ("tokens_per_s", .number(rate)), ("elapsed_s", .number(elapsed)),
                        ("checkpoints_failed", .number(failedCheckpoints)),
                        ("compute_s", .number(times.compute[times.slowestRank])),
                        ("slowest_rank", .number(times.slowestRank)),
                        ("exposed_comm_s", .number(times.exposedWait)),
                    ]
                    try metrics?.append(record)
                    tensorboard?.append(record)
                }
                interval = (0, 0, 0, 0, ContinuousClock.now)
            }
            let scheduled = (config.checkpoint.every > 0 && step % config.checkpoint.every == 0) || step == total
            if scheduled || newBest || patienceSpent || report.checkpointRequested || report.stopSignal != 0 {
                try writeCheckpoint(last: step == total || patienceSpent || report.stopSignal != 0, best: newBest)
            }
            if patienceSpent, report.stopSignal == 0 {
                if comm.isRoot {
                    progress.finish()
                    output.line(earlyStopLine)
                }
                break
            }
            if report.stopSignal != 0 {
                if comm.isRoot {
                    progress.finish()
                    output.line("stopped at step \(step) on \(report.stopSignal == SIGTERM ? "SIGTERM" : "SIGINT"); --resume auto continues\(failureNote)")
                }
                throw Interrupted(status: 128 + report.stopSignal)
            }
        }
        let end = trainer.step
        if comm.isRoot {
            progress.finish()
            if config.checkpoint.onError == .continue { output.line("finished at step \(end), final checkpoint written\(failureNote)") }
        }
        // Only rank 0 writes, so only rank 0 fails, after the last collective: it exits 2 on its
        // own while the others end cleanly.
        let lost = [output.lost.map { "\($0): training finished at step \(end) and wrote its checkpoint, but lines of its output were lost" },
                    tensorboard?.lost.map { "\($0): training finished at step \(end) and wrote its checkpoint, but TensorBoard's event file lost records" },
        ].compactMap { $0 }
        if !lost.isEmpty {
            throw AgreedError(description: lost.joined(separator: "; ") + " (metrics.jsonl has every logged step)")
        }
    }

    /// Whether validations keep `checkpoints/best` up to date.
    var tracksBest: Bool { config.checkpoint.best || config.train.earlyStop > 0 }

    /// Why an early-stopped run ended, and where its best checkpoint is.
    var earlyStopLine: String {
        let n = trainer.state.validationsSinceBest
        let best = trainer.state.best.map { "lowest validation loss \(String(format: "%.4f", $0.loss)) at step \($0.step), checkpoints/\(CheckpointStore.bestName)" } ?? "no finite validation loss"
        return "early stop at step \(trainer.step): \(n) validation\(n == 1 ? "" : "s") in a row without a lower loss (train.early_stop \(config.train.earlyStop)); \(best)"
    }

    /// Under `continue`, "; 2 checkpoints failed to write (checkpoint.on_error: continue)" or
    /// "; no checkpoint failed to write"; empty under `stop`, where a failure ends the run.
    private var failureNote: String {
        guard config.checkpoint.onError == .continue else { return "" }
        guard failedCheckpoints > 0 else { return "; no checkpoint failed to write" }
        return "; \(failedCheckpoints) checkpoint\(failedCheckpoints == 1 ? "" : "s") failed to write (checkpoint.on_error: continue)"
    }

    /// Every rank contributes its carried states; rank 0 writes. A failed write leaves the
    /// previous checkpoint as it was. The `last` checkpoint (the final step, or a stop signal's)
    /// holds work no later one will save, so its failure stops every rank with status 2 whatever
    /// `checkpoint.on_error` says. Before that, `stop` ends the run on a failure too, and
    /// `continue` counts it, says so and trains on.
    public func writeCheckpoint(last: Bool = false, best: Bool = false) throws {
        var state = try trainer.snapshot(elapsed: elapsed)
        state.dataDigest = dataDigest
        state.kernels = kernels
        let step = state.step
        let write = {
            guard self.comm.isRoot else { return }
            // The state's copies of the moments go once encoded, before the model is encoded
            // beside them: the checkpoint's peak memory is the encoded files, not them as well.
            let stateBytes = state.encode()
            state = TrainingState()
            let files = [ModelFile.name: ModelFile.encode(model: self.trainer.model, vocabulary: self.trainer.corpus.vocabulary),
                         TrainingState.name: stateBytes,
                         Checkpoint.configName: Array(self.config.yaml().utf8)]
            let url = try self.store.write(step: step, files: files)
            if best { try self.store.markBest(step: step) }
            try self.store.prune(keep: self.config.checkpoint.keep)
            if ProgressLine.isTTY { self.output.line("") }
            self.output.line("checkpoint: \(url.path)")
        }
        if last {
            try agree(comm) {
                do { try write() } catch {
                    let newest = (try? store.list())?.last.map { "the newest on disk is \($0.url.path)" } ?? "no checkpoint is on disk"
                    let earlier = failedCheckpoints == 0 ? "" : "; \(failedCheckpoints) earlier checkpoint\(failedCheckpoints == 1 ? "" : "s") failed too"
                    throw UserError("the last checkpoint (step \(step)) was not written: \(error); \(newest)\(earlier)")
                }
            }
            return
        }
        switch config.checkpoint.onError {
        case .stop:
            try agree(comm, write)
        case .continue:
            do { try write() } catch {
                failedCheckpoints += 1
                StandardError.line("rnntrain: checkpoint not written: \(error); training continues (checkpoint.on_error: continue)")
            }
        }
    }
}
