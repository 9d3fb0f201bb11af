import ArgumentParser
import Kernels

extension MatmulPrecision: ExpressibleByArgument {}

/// `--precision` of the commands that load a checkpoint: its weights are fp32 whatever the
/// precision of the run that wrote them, so a model may be evaluated or sampled in either.
struct PrecisionOption: ParsableArguments {
    @Option(help: "Operands of the matrix products: fp32 or bf16 (default: train.precision of the checkpoint's config).")
    var precision: MatmulPrecision?
}
