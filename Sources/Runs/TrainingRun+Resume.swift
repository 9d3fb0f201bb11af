import Checkpoints
import Clock
import Collectives
import Config
import Files
import Foundation
import Kernels
import PreparedData
import Training

/// What a resume may do that it refuses by default, because each can silently waste a run.
public struct ResumePolicy: Sendable {
    /// `--fresh-if-invalid`: when checkpoints exist but none verifies, start at step 0 anyway.
    public var freshIfInvalid: Bool
    /// `--allow-other-data`: continue a checkpoint trained on another corpus.
    public var allowOtherData: Bool

    public init(freshIfInvalid: Bool = false, allowOtherData: Bool = false) {
        self.freshIfInvalid = freshIfInvalid
        self.allowOtherData = allowOtherData
    }
}

extension TrainingRun {
    /// On rank 0, the checkpoint files to resume from, shared with every rank; nil for a fresh start.
    /// Every line says what was found: each checkpoint skipped and why, the one taken, or why none.
    func findCheckpoint(_ resume: String?, policy: ResumePolicy) throws -> (name: String, files: [String: [UInt8]])? {
        var found: (String, [String: [UInt8]])?
        try agree(comm) {
            guard comm.isRoot else { return }
            switch resume {
            case nil:
                if let last = try store.list().last {
                    throw UserError("\(directory.path) already holds \(last.url.lastPathComponent); pass --resume auto to continue it, or choose another --run-dir")
                }
            case "auto":
                let search = try store.newestValid()
                for reason in search.skipped { log("resume: skipped \(reason)") }
                if let newest = search.newest {
                    log("resume: continuing from \(newest.url.path)")
                    found = (newest.url.path, newest.files)
                } else if search.skipped.isEmpty {
                    log("resume: no checkpoint in \(store.directory.path); starting fresh")
                } else {
                    let names = try store.list().reversed().map(\.url.lastPathComponent).joined(separator: ", ")
                    let count = search.skipped.count == 1 ? "the one checkpoint" : "the \(search.skipped.count) checkpoints"
                    guard policy.freshIfInvalid else {
                        throw UserError("none of \(count) in \(store.directory.path) is valid (\(names); reasons above); "
                                        + "not starting over at step 0 unless you pass --fresh-if-invalid")
                    }
                    log("resume: none of \(count) in \(store.directory.path) is valid; starting fresh (--fresh-if-invalid)")
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

    /// Checks that the checkpoint fits this run (config, vocabulary, data) and takes its state.
    func restore(from checkpoint: (name: String, files: [String: [UInt8]]), policy: ResumePolicy) throws {
        let saved = try Checkpoint(files: checkpoint.files, name: checkpoint.name)
        try ConfigCompatibility.check(saved: saved.config, current: config, source: "\(saved.name)/\(Checkpoint.configName)")
        guard saved.vocabulary == trainer.corpus.vocabulary else {
            throw UserError("\(saved.name)/\(ModelFile.name): its vocabulary differs from the one \(config.data.path) gives")
        }
        try checkData(of: saved, policy: policy)
        try checkKernels(of: saved)
        try trainer.restore(parameters: saved.model.parameters, state: saved.state, source: saved.name)
        elapsedBefore = saved.state.elapsed
    }

    /// The same vocabulary does not make the same text: the digest of the tokens does.
    private func checkData(of saved: Checkpoint, policy: ResumePolicy) throws {
        guard let digest = saved.state.dataDigest else {
            log("resume: \(saved.name) predates data digests; not checked against \(config.data.path)")
            return
        }
        guard digest != dataDigest else { return }
        var ours = dataDigest
        if saved.state.dataDigestIsLegacy {
            let started = ContinuousClock.now
            ours = SettingsAgreement.hex(try CorpusDigest.legacy(trainer.corpus))
            log("resume: \(saved.name) records its data digest as an older rnntrain computed it (the ids as Int32); hashed this run's tokens that way to check it (\(String(format: "%.1f", started.secondsAgo)) s)")
            guard digest != ours else { return }
        }
        let other = "\(saved.name) was trained on other data (\(saved.config.data.path), digest \(digest)) "
            + "than this run reads (\(config.data.path), digest \(ours))"
        guard policy.allowOtherData else {
            throw UserError(other + "; pass --allow-other-data to continue it on this data")
        }
        log("resume: \(other); continuing on this data (--allow-other-data)")
    }

    /// Other kernels continue a run with other rounding: refused in deterministic mode, whose
    /// promise is the bits of an uninterrupted run; a warning otherwise, and for a checkpoint
    /// written before kernels were recorded.
    private func checkKernels(of saved: Checkpoint) throws {
        guard let theirs = saved.state.kernels else {
            warnOnce("\(saved.name) predates kernel records; its kernels are unknown, this run computes with \(kernels)")
            return
        }
        guard kernels.mayDiffer(from: theirs) else { return }
        let difference = "\(saved.name) was computed with \(theirs), this run computes with \(kernels)"
        guard !config.train.deterministic else {
            throw UserError("\(difference); train.deterministic continues a run only on the same kernels (OPENBLAS_CORETYPE, DNNL_MAX_CPU_ISA)")
        }
        warnOnce("\(difference); continuing with other rounding")
    }

    /// A warning on stderr, from rank 0 only (every rank reads the same checkpoint).
    private func warnOnce(_ line: String) {
        if comm.isRoot { StandardError.line("rnntrain: warning: \(line)") }
    }

    /// "nothing to do: checkpoint is at step 500, train.steps is 300", or nil when steps remain.
    var nothingToDo: String? {
        let patience = config.train.earlyStop
        if patience > 0, trainer.state.validationsSinceBest >= patience, trainer.step < trainer.totalSteps {
            return "nothing to do: " + earlyStopLine.replacingOccurrences(of: "early stop at", with: "the run stopped early at")
                + "; raise train.early_stop to train on"
        }
        guard trainer.step >= trainer.totalSteps else { return nil }
        let target = config.train.epochs > 0 ? "train.epochs \(config.train.epochs) makes \(trainer.totalSteps) steps"
                                             : "train.steps is \(trainer.totalSteps)"
        return "nothing to do: checkpoint is at step \(trainer.step), \(target)"
    }
}
