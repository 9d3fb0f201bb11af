import Checkpoints
import Collectives
import Config
import Dispatch
import Files
import Foundation
import Kernels
import Models
import TextData

/// A run directory and the loop around the trainer: resume, log, validate, checkpoint.
///
/// Layout: `config.yaml` (resolved), `metrics.jsonl`, `checkpoints/step-NNNNNNNN/`. Only rank 0
/// touches it; every rank reads the corpus.
public final class TrainingRun {
    public let config: TrainingConfig
    public let directory: URL
    public let comm: Communicator
    public let trainer: Trainer
    let store: CheckpointStore
    private let started = DispatchTime.now().uptimeNanoseconds
    private var elapsedBefore = 0.0

    /// `resume`: nil (start fresh; the directory must hold no checkpoint), "auto" (the newest
    /// valid checkpoint, or a fresh start when there is none) or a checkpoint directory.
    public init(config: TrainingConfig, directory: URL, resume: String?, comm: Communicator) throws {
        self.config = config
        self.directory = directory
        self.comm = comm
        let store = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        self.store = store
        trainer = try agree(comm) {
            let corpus = try Corpus.load(path: config.data.path, valPath: config.data.valPath,
                                         valFraction: config.data.valFraction, tokenizer: config.data.tokenizer,
                                         minCount: config.data.minCount,
                                         withMask: config.data.task == .fillInTheMiddle)
            return try Trainer(config: config, corpus: corpus, comm: comm)
        }
        try SettingsAgreement.check(config: config, corpus: trainer.corpus, comm: comm)
        let checkpoint = try findCheckpoint(resume)
        if let checkpoint {
            try agree(comm) { try restore(from: checkpoint) }
        } else {
            try broadcastParameters()
        }
        try agree(comm) {
            guard comm.isRoot else { return }
            try FileManager.default.createDirectory(at: store.directory, withIntermediateDirectories: true)
            try FileIO.writeAtomically(Array(config.yaml().utf8), to: directory.appendingPathComponent("config.yaml"))
        }
    }

    /// On rank 0, the checkpoint files to resume from, shared with every rank.
    private func findCheckpoint(_ resume: String?) throws -> (name: String, files: [String: [UInt8]])? {
        var found: (String, [String: [UInt8]])?
        try agree(comm) {
            guard comm.isRoot else { return }
            switch resume {
            case nil:
                if let last = store.list().last {
                    throw UserError("\(directory.path) already holds \(last.url.lastPathComponent); pass --resume auto to continue it, or choose another --run-dir")
                }
            case "auto":
                if let newest = store.newestValid() {
                    for reason in newest.skipped { log("resume: skipped \(reason)") }
                    log("resume: continuing from \(newest.url.path)")
                    found = (newest.url.path, newest.files)
                } else {
                    log("resume: no valid checkpoint in \(store.directory.path); starting at step 0")
                }
            case let path?:
                let url = URL(fileURLWithPath: path)
                found = (url.path, try CheckpointStore.read(url))
                log("resume: continuing from \(url.path)")
            }
        }
        let present = try Sharing.broadcast(found == nil ? [0] : [1], comm: comm)
        guard present == [1] else { return nil }
        var files: [String: [UInt8]] = [:]
        for name in [ModelFile.name, TrainingState.name, Checkpoint.configName] {
            files[name] = try Sharing.broadcast(found?.1[name] ?? [], comm: comm)
        }
        return (try Sharing.broadcastString(found?.0 ?? "", comm: comm), files)
    }

    private func restore(from checkpoint: (name: String, files: [String: [UInt8]])) throws {
        let saved = try Checkpoint(files: checkpoint.files, name: checkpoint.name)
        try ConfigCompatibility.check(saved: saved.config, current: config, source: "\(saved.name)/\(Checkpoint.configName)")
        guard saved.vocabulary == trainer.corpus.vocabulary else {
            throw UserError("\(saved.name)/\(ModelFile.name): its vocabulary differs from the one \(config.data.path) gives")
        }
        try trainer.restore(parameters: saved.model.parameters, state: saved.state, source: saved.name)
        elapsedBefore = saved.state.elapsed
    }

    /// All ranks start from rank 0's parameters.
    private func broadcastParameters() throws {
        let p = trainer.model.parameters
        try comm.broadcast(UnsafeMutableRawBufferPointer(start: p.base, count: p.count * 4), root: 0)
    }

    private func log(_ line: String) {
        if comm.isRoot { print(line) }
    }

    private var elapsed: Double { elapsedBefore + Self.seconds(since: started) }

    /// Seconds on the monotonic clock the trainer and the benchmark time steps with.
    private static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Trains to the last step, logging every `log.every` steps, validating every
    /// `log.eval_every`, and writing a checkpoint every `checkpoint.every` steps and at the end.
    public func run() throws {
        let total = trainer.totalSteps
        let metrics = comm.isRoot ? try MetricsLog(url: directory.appendingPathComponent("metrics.jsonl")) : nil
        let progress = ProgressLine()
        var interval = (loss: 0.0, steps: 0, tokens: 0, clipped: 0, start: DispatchTime.now().uptimeNanoseconds)
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
            if step % config.log.every == 0 || step == total || validation != nil {
                let seconds = Self.seconds(since: interval.start)
                let rate = Double(interval.tokens) / max(seconds, 1e-9)
                let loss = interval.steps > 0 ? interval.loss / Double(interval.steps) : .nan
                let valLoss = validation.map { $0.loss / Double(max(1, $0.count)) }
                if comm.isRoot {
                    let eta = Double(total - step) * Double(config.train.globalBatch * config.train.seqLen) / rate
                    progress.show(step: step, total: total, loss: loss, validation: valLoss, gradientNorm: report.gradientNorm,
                                  clipped: report.clipped, skipped: trainer.state.skippedSteps, lr: report.lr,
                                  tokensPerSecond: rate, eta: eta)
                    try metrics?.append([("step", .number(step)), ("tokens", .number(trainer.state.tokens)),
                                         ("loss", .number(loss)), ("val_loss", valLoss.map(JSON.number)),
                                         ("grad_norm", .number(report.gradientNorm)), ("clipped", .number(interval.clipped)),
                                         ("skipped", .number(trainer.state.skippedSteps)), ("lr", .number(report.lr)),
                                         ("tokens_per_s", .number(rate)), ("elapsed_s", .number(elapsed))])
                }
                interval = (0, 0, 0, 0, DispatchTime.now().uptimeNanoseconds)
            }
            let scheduled = (config.checkpoint.every > 0 && step % config.checkpoint.every == 0) || step == total
            if scheduled || report.checkpointRequested || report.stopSignal != 0 {
                try writeCheckpoint()
            }
            if report.stopSignal != 0 {
                if comm.isRoot {
                    progress.finish()
                    print("stopped at step \(step) on \(report.stopSignal == SIGTERM ? "SIGTERM" : "SIGINT"); --resume auto continues")
                }
                throw Interrupted(status: 128 + report.stopSignal)
            }
        }
        if comm.isRoot { progress.finish() }
    }

    /// Every rank contributes its carried states; rank 0 writes. A failed write leaves the
    /// previous checkpoint as it was; with `checkpoint.on_error: stop` every rank then stops with
    /// rank 0's message, with `continue` rank 0 says so and training goes on.
    public func writeCheckpoint() throws {
        let state = try trainer.snapshot(elapsed: elapsed)
        let write = {
            guard self.comm.isRoot else { return }
            let files = [ModelFile.name: ModelFile.encode(model: self.trainer.model, vocabulary: self.trainer.corpus.vocabulary),
                         TrainingState.name: state.encode(),
                         Checkpoint.configName: Array(self.config.yaml().utf8)]
            let url = try self.store.write(step: state.step, files: files)
            try self.store.prune(keep: self.config.checkpoint.keep)
            if ProgressLine.isTTY { print("") }
            print("checkpoint: \(url.path)")
        }
        switch config.checkpoint.onError {
        case .stop:
            try agree(comm, write)
        case .continue:
            do { try write() } catch {
                FileHandle.standardError.write(Data("rnntrain: checkpoint not written: \(error); training continues (checkpoint.on_error: continue)\n".utf8))
            }
        }
    }
}
