import Config
import Files
import Foundation
import ModelSpec
import Models
import PreparedData
import TextData

/// Refuses a run, before anything is allocated, whose model needs more memory than this
/// machine has for each of its ranks. Without the check the allocation fails with a crash, or
/// succeeds lazily and the OOM killer ends the job hours later.
public enum MemoryBudget {
    /// What one rank holds for the whole run, in bytes.
    struct Need {
        /// Parameters, gradients, optimizer state, the deterministic fixed-point sum, the bf16
        /// wire's buffers and the packed embedding rows (`TouchedRows`).
        var state: Double
        /// The activation arena for a micro-batch of `sequences` × τ.
        var activations: Double
        /// The corpus's tokens, 4 bytes each, held for the whole run.
        var data: Double = 0
        var total: Double { state + activations + data }
    }

    /// `shards`: ranks the optimizer moments are split between (the sharded update), else 1;
    /// `microBatches`: the rank's micro-batches, each a group of its own in deterministic mode;
    /// `ranks`: the world size.
    static func need(config: TrainingConfig, model: ModelConfig, sequences: Int, microBatches: Int = 1, tokens: Int = 0,
                     shards: Int = 1, ranks: Int = 1) -> Need {
        let parameters = Double(ParameterLayout(config: model).count)
        let moments = (Optimizer.usesFirst(config.optimizer) ? 1 : 0) + (Optimizer.usesSecond(config.optimizer) ? 1 : 0)
        let deterministic = config.train.deterministic
        let fixed = deterministic ? 8 * parameters : 0
        // The bf16 wire (`BF16Wire`): a Float residual per parameter for each unit (the rank, or
        // each of its groups in deterministic mode) and, outside it, the bf16 copy sent.
        let wire = config.train.reduce == .bf16 ? (4 * Double(deterministic ? microBatches : 1) + (deterministic ? 0 : 2)) * parameters : 0
        let packing = TouchedRows.bytes(config: config, model: model, ranks: ranks)
        return Need(state: 4 * (2 + Double(moments) / Double(shards)) * parameters + fixed + wire + packing,
                    activations: MemoryEstimate.activationBytes(config: model, steps: config.train.seqLen,
                                                                sequences: sequences, scalarBytes: 4),
                    data: 4 * Double(tokens))
    }

    /// The memory this process may use: physical memory, or less when a control group limits it
    /// (a Slurm job's `--mem`, a container); and the number of ranks the launcher placed on this
    /// node (Open MPI and MPICH say; 1 when neither does).
    public static func machine() -> (bytes: Double, ranks: Int) {
        let physical = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        let limit = cgroupLimit(membership: membership, root: "/sys/fs/cgroup") ?? .infinity
        let env = ProcessInfo.processInfo.environment
        let ranks = (env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? env["MPI_LOCALNRANKS"]).flatMap(Int.init) ?? 1
        return (min(physical, limit), max(1, ranks))
    }

    /// The smallest memory limit on the way from this process's control group up to the root,
    /// read from `membership` (the text of /proc/self/cgroup) under `root`: cgroup v2's
    /// memory.max, or v1's memory.limit_in_bytes. Nil when nothing is limited.
    static func cgroupLimit(membership: String, root: String) -> Double? {
        var limits: [Double] = []
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let (directory, file): (String, String)
            if fields[0] == "0", fields[1].isEmpty {
                (directory, file) = (root, "memory.max")
            } else if fields[1].split(separator: ",").contains("memory") {
                (directory, file) = (root + "/memory", "memory.limit_in_bytes")
            } else {
                continue
            }
            var path = String(fields[2])
            while true {
                let text = (try? String(contentsOfFile: directory + path + "/" + file, encoding: .utf8)) ?? ""
                // v1 writes "no limit" as the largest page multiple below 2^63.
                if let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), value < 0x1p62 {
                    limits.append(value)
                }
                guard path != "/", let slash = path.lastIndex(of: "/") else { break }
                path = slash == path.startIndex ? "/" : String(path[..<slash])
            }
        }
        return limits.min()
    }

    static func check(_ need: Need, machine: (bytes: Double, ranks: Int), sequences: Int, steps: Int) throws {
        let share = machine.bytes / Double(machine.ranks)
        guard need.total > share else { return }
        let ranks = machine.ranks == 1 ? "one rank" : "each of its \(machine.ranks) ranks"
        throw UserError("the model needs \(shown(need.total)) per rank (parameters, gradients and optimizer state "
            + "\(shown(need.state)), activations \(shown(need.activations)) for \(sequences) sequences × τ = \(steps), "
            + "the corpus's tokens \(shown(need.data))), "
            + "more than the \(shown(share)) of memory this machine (or its control group) allows \(ranks); lower model.hidden, "
            + "model.layers or model.embedding, or train.seq_len, or raise train.accumulate")
    }

    /// Bytes of memory a rank holds per byte of text while it reads and tokenizes it: the text,
    /// its training and validation copies, and 4-byte tokens (one per byte for char and byte,
    /// about one per 5 bytes for word). Measured peaks (issue 22, 100 MB of English): 8.3 for
    /// char, 3.1 for word.
    static func bytesPerTextByte(_ tokenizer: TokenizerKind) -> Double { tokenizer == .word ? 3.1 : 8.3 }

    /// Refuses, before a byte of it is read, a corpus whose reading would need more memory than
    /// this machine allows each rank: otherwise the OOM killer ends the job, not this one line.
    /// The size is that of the joined text of the files each path lists (`TextFiles`); a path
    /// that cannot be listed is left to the reader, and a prepared dataset is mapped, not read.
    public static func checkText(config: DataConfig, machine: (bytes: Double, ranks: Int)) throws {
        var size = 0.0
        for path in [config.path, config.valPath] where !path.isEmpty && !PreparedDataset.isDataset(path) {
            if let files = try? TextFiles.list(path) { size += Double(files.size) }
        }
        let need = size * bytesPerTextByte(config.tokenizer)
        let share = machine.bytes / Double(machine.ranks)
        guard need > share else { return }
        let ranks = machine.ranks == 1 ? "one rank" : "each of its \(machine.ranks) ranks"
        throw UserError("\(config.path): reading \(shown(size)) of text needs about \(shown(need)) on every rank "
            + "(\(bytesPerTextByte(config.tokenizer)) bytes per byte with the \(config.tokenizer.rawValue) tokenizer), more than the "
            + "\(shown(share)) of memory this machine (or its control group) allows \(ranks); use a smaller corpus or fewer ranks per node")
    }

    static func shown(_ bytes: Double) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = bytes, unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) bytes" : String(format: "%.1f %@", value, units[unit])
    }
}
