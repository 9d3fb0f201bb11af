import Checkpoints
import Files
import Models

/// Whether a checkpoint's weights are all finite. A model with an infinite or NaN weight scores
/// NaN and samples nonsense, so eval and sample refuse it, naming how many weights are bad and
/// where the first one is; inspect reports the same count. Training never writes such a
/// checkpoint, but a hand-made or foreign one can hold them.
enum FiniteWeights {
    /// The number of non-finite weights (tied tensors counted once) and the first tensor with one.
    static func census(_ model: Model<Float>) -> (count: Int, first: String?) {
        var count = 0, first: String?
        for t in model.layout.tensors where t.aliasOf == nil {
            let bad = model.parameters.nonfiniteCount(in: t.range)
            if bad > 0, first == nil { first = t.name }
            count += bad
        }
        return (count, first)
    }

    /// Throws "<checkpoint>/model.safetensors: K of N weights are not finite (the first in T)".
    static func require(_ checkpoint: Checkpoint) throws {
        let (count, first) = census(checkpoint.model)
        guard count > 0, let first else { return }
        throw UserError("\(checkpoint.name)/\(ModelFile.name): \(count) of \(checkpoint.model.layout.count) weights are not finite (the first in \(first)); this model cannot be evaluated or sampled")
    }
}
