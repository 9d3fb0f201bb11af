import Foundation
import Models

/// Refuses a run, before anything is allocated, whose model needs more memory than this
/// machine has for each of its ranks. Without the check the allocation fails with a crash, or
/// succeeds lazily and the OOM killer ends the job hours later.
enum MemoryBudget {
    /// What one rank holds for the whole run, in bytes.
    struct Need {
        /// Parameters, gradients, optimizer state and the deterministic fixed-point sum.
        var state: Double
        /// The activation arena for a micro-batch of `sequences` × τ.
        var activations: Double
        var total: Double { state + activations }
    }

    static func need(config: TrainingConfig, model: ModelConfig, sequences: Int) -> Need {
        let parameters = Double(ParameterLayout(config: model).count)
        let slots = 2 + (Optimizer.usesFirst(config.optimizer) ? 1 : 0) + (Optimizer.usesSecond(config.optimizer) ? 1 : 0)
        let fixed = config.train.deterministic ? 8 * parameters : 0
        return Need(state: 4 * Double(slots) * parameters + fixed,
                    activations: MemoryEstimate.activationBytes(config: model, steps: config.train.seqLen,
                                                                sequences: sequences, scalarBytes: 4))
    }

    /// Physical memory and the number of ranks the launcher placed on this node (Open MPI and
    /// MPICH say; 1 when neither does).
    static func machine() -> (bytes: Double, ranks: Int) {
        let bytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        let env = ProcessInfo.processInfo.environment
        let ranks = (env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? env["MPI_LOCALNRANKS"]).flatMap(Int.init) ?? 1
        return (bytes, max(1, ranks))
    }

    static func check(_ need: Need, machine: (bytes: Double, ranks: Int), sequences: Int, steps: Int) throws {
        let share = machine.bytes / Double(machine.ranks)
        guard need.total > share else { return }
        let ranks = machine.ranks == 1 ? "one rank" : "each of its \(machine.ranks) ranks"
        throw UserError("the model needs \(shown(need.total)) per rank (parameters, gradients and optimizer state "
            + "\(shown(need.state)), activations \(shown(need.activations)) for \(sequences) sequences × τ = \(steps)), "
            + "more than the \(shown(share)) of memory this machine has for \(ranks); lower model.hidden, "
            + "model.layers or model.embedding, or train.seq_len, or raise train.accumulate")
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
