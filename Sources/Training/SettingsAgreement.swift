import Checkpoints
import Collectives
import Config
import Files
import Foundation
import TextData

/// Ranks must agree on everything that decides which collectives run and when — steps, logging,
/// checkpoints, batch shape, the model, the data itself — or one would wait forever in a
/// collective the others never start. Values that only change the numbers (learning rate,
/// seed, dropout, paths) may differ; the replica hash check catches their effect.
enum SettingsAgreement {
    static let free = ["optimizer.lr", "optimizer.momentum", "optimizer.betas", "optimizer.eps", "optimizer.weight_decay",
                       "optimizer.alpha", "optimizer.nesterov", "clip.max_norm", "model.dropout", "train.seed",
                       "data.path", "data.val_path", "schedule."]

    /// "key: value" lines of the settings that must agree, and a digest of the tokens.
    static func fingerprint(config: TrainingConfig, corpus: Corpus) -> [String: String] {
        var lines = ConfigCompatibility.flatten(config.yaml()).filter { key, _ in
            !free.contains { key == $0 || ($0.hasSuffix(".") && key.hasPrefix($0)) }
        }
        lines["data (tokens)"] = "\(corpus.train.count) + \(corpus.validation.count) tokens of \(corpus.vocabulary.count), digest \(dataDigest(corpus))"
        return lines
    }

    /// The first 8 bytes of the SHA-256 of the tokens (training, then validation, as Int32), in
    /// hex: what ranks compare, and what a checkpoint records of the data it was trained on. A
    /// prepared dataset's header records the same hash, so text and prepared data agree.
    static func dataDigest(_ corpus: Corpus) -> String {
        let digest = corpus.digest ?? (corpus.train.all + corpus.validation.all).withUnsafeBytes { SHA256.hash($0) }
        return SHA256.hex(Array(digest.prefix(8)))
    }

    /// Every rank compares its settings with rank 0's; a difference ends the job with the first
    /// differing key, before training starts.
    static func check(config: TrainingConfig, corpus: Corpus, comm: Communicator) throws {
        guard comm.size > 1 else { return }
        let mine = fingerprint(config: config, corpus: corpus)
        let text = mine.sorted { $0.key < $1.key }.map { "\($0.key)\t\($0.value)" }.joined(separator: "\n")
        let root = try Sharing.broadcastString(comm.isRoot ? text : "", comm: comm)
        try agree(comm) {
            var theirs: [String: String] = [:]
            for line in root.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                if parts.count == 2 { theirs[parts[0]] = parts[1] }
            }
            if let key = mine.keys.sorted().first(where: { mine[$0] != theirs[$0] }) {
                throw UserError("\(key) is \(mine[key]!) here but \(theirs[key] ?? "unset") on rank 0; every rank needs the same settings and data")
            }
        }
    }
}
