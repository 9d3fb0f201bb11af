import Kernels
import ModelSpec

/// Bytes a model needs before any of them is allocated, so that a config too large for the
/// machine is refused with a message rather than a failed allocation or the OOM killer.
public enum MemoryEstimate {
    /// The activation arena `Workspace` allocates for chunks of τ = `steps` × n = `sequences`:
    /// the bytes of `ActivationPlan`, the table it allocates from, summed in Double.
    public static func activationBytes(config: ModelConfig, steps: Int, sequences: Int, scalarBytes: Int,
                                       precision: MatmulPrecision = .fp32) -> Double {
        ActivationPlan.entries(config: config, steps: steps, sequences: sequences, precision: precision)
            .reduce(0) { $0 + $1.bytes(scalarBytes: scalarBytes) }
    }
}
