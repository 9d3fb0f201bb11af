import Files
import Foundation

/// Which settings a resumed run must share with its checkpoint: everything that shapes the
/// model, the token stream or the meaning of the saved state. Steps, learning rate, logging,
/// checkpoint cadence and `train.precision` (the saved weights are fp32 either way) may change
/// between runs.
public enum ConfigCompatibility {
    static let fixed = ["model.", "data.tokenizer", "data.min_count", "data.mode", "data.task", "data.mask_rate",
                        "train.global_batch", "train.seq_len", "train.seed", "optimizer.type"]

    public static func check(saved: TrainingConfig, current: TrainingConfig, source: String) throws {
        let before = flatten(saved.yaml()), now = flatten(current.yaml())
        for key in now.keys.sorted() where fixed.contains(where: { key == $0 || ($0.hasSuffix(".") && key.hasPrefix($0)) }) {
            if before[key] != now[key] {
                throw UserError("\(source): \(key) is \(before[key] ?? "unset") in the checkpoint but \(now[key]!) now")
            }
        }
    }

    /// "section.key" → value, from the two-level YAML that `TrainingConfig.yaml()` writes.
    public static func flatten(_ yaml: String) -> [String: String] {
        var out: [String: String] = [:]
        var section = ""
        for line in yaml.split(separator: "\n") where !line.trimmingPrefix(" ").hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if line.first != " " {
                section = key
            } else {
                out["\(section).\(key)"] = value
            }
        }
        return out
    }
}
