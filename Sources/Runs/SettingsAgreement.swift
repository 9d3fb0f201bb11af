import Checkpoints
import Collectives
import Config
import Files
import Foundation
import Kernels
import PreparedData
import TextData
import Training

/// Ranks must agree on everything that decides which collectives run and when — steps, logging,
/// checkpoints, batch shape, the model, the data itself — or one would wait forever in a
/// collective the others never start. Values that only change the numbers (learning rate,
/// seed, dropout, paths) may differ; the replica hash check catches their effect. Not under the
/// sharded update, where each rank updates its shard by its own settings and the allgather keeps
/// the replicas equal whatever they are: there the update's settings must agree too. The library
/// kernels (`ComputeKernels`) only change the numbers too, but deterministic mode promises the
/// same bits on every rank, so there they must agree as well; elsewhere a difference is a warning.
enum SettingsAgreement {
    static let free = ["model.dropout", "train.seed", "data.path", "data.val_path"]
    /// Free too when the update is replicated.
    static let freeUnlessSharded = ["optimizer.lr", "optimizer.momentum", "optimizer.betas", "optimizer.eps",
                                    "optimizer.weight_decay", "optimizer.alpha", "optimizer.nesterov", "clip.max_norm",
                                    "schedule."]

    /// "key: value" lines of the settings that must agree, and a digest of the tokens.
    static func fingerprint(config: TrainingConfig, corpus: Corpus) throws -> [String: String] {
        let free = config.train.shardOptimizer ? Self.free : Self.free + Self.freeUnlessSharded
        var lines = ConfigCompatibility.flatten(config.yaml()).filter { key, _ in
            !free.contains { key == $0 || ($0.hasSuffix(".") && key.hasPrefix($0)) }
        }
        lines["data (tokens)"] = "\(corpus.train.count) + \(corpus.validation.count) tokens of \(corpus.vocabulary.count), digest \(try dataDigest(corpus))"
        return lines
    }

    /// The first 8 bytes of the corpus digest (`CorpusDigest`) in hex: what ranks compare, and
    /// what a checkpoint records of the data it was trained on; the same for a text and its
    /// prepared dataset.
    static func dataDigest(_ corpus: Corpus) throws -> String {
        hex(try CorpusDigest.of(corpus))
    }

    /// A digest as checkpoints record it: its first 8 bytes in hex.
    static func hex(_ digest: [UInt8]) -> String { SHA256.hex(Array(digest.prefix(8))) }

    /// The fingerprint's line of the library kernels.
    static let kernelsKey = "kernels"

    /// Every rank compares its settings with rank 0's; a difference ends the job with the first
    /// differing key, before training starts. Other kernels than rank 0's end it only in
    /// deterministic mode; otherwise the rank that has them warns.
    static func check(config: TrainingConfig, corpus: Corpus, kernels: ComputeKernels, comm: Communicator) throws {
        guard comm.size > 1 else { return }
        var mine = try fingerprint(config: config, corpus: corpus)
        mine[kernelsKey] = kernels.description
        let text = mine.sorted { $0.key < $1.key }.map { "\($0.key)\t\($0.value)" }.joined(separator: "\n")
        let root = try Sharing.broadcastString(comm.isRoot ? text : "", comm: comm)
        try agree(comm) {
            var theirs: [String: String] = [:]
            for line in root.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                if parts.count == 2 { theirs[parts[0]] = parts[1] }
            }
            let differing = mine.keys.sorted().filter { mine[$0] != theirs[$0] }
            if let key = differing.first(where: { $0 != kernelsKey }) {
                throw UserError("\(key) is \(mine[key]!) here but \(theirs[key] ?? "unset") on rank 0; every rank needs the same settings and data")
            }
            guard differing.contains(kernelsKey) else { return }
            let difference = "this rank computes with \(kernels) but rank 0 with \(theirs[kernelsKey] ?? "unknown kernels")"
            guard !config.train.deterministic else {
                throw UserError("\(difference); train.deterministic needs the same kernels on every rank (OPENBLAS_CORETYPE, DNNL_MAX_CPU_ISA)")
            }
            StandardError.line("rnntrain: warning: rank \(comm.rank): \(difference); their sums differ in rounding")
        }
    }
}
