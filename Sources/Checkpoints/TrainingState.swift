import Files
import Foundation
import Kernels

/// `state.safetensors`: what a resume needs beyond the weights. Tensors `optimizer.first` and
/// `optimizer.second` (the moments, when the optimizer has them) and `states` [B × state width]
/// (the carried hidden state of every stream in global order, stream mode only), `reduce.residual`
/// [units × parameters] (the bf16 wire's error feedback: one row per rank in rank order, or in
/// deterministic mode per group in global order; absent on the fp32 wire); counters in
/// `__metadata__`, with `data_digest`, the digest of the corpus trained on (absent in checkpoints
/// written before it existed), and `kernels_openblas` and `kernels_bf16`, the library kernels that
/// computed it (absent before they were recorded: unknown). Nothing in it depends on the world
/// size that wrote it, except the residual rows of a bf16 wire outside deterministic mode, one per rank
/// (a resume at another world size sums them into one, `Trainer.restore`).
public struct TrainingState: Equatable {
    public static let name = "state.safetensors"

    public var step = 0
    public var optimizerUpdates = 0
    public var skippedSteps = 0
    public var tokens = 0
    public var elapsed = 0.0
    public var first: [Float] = []
    public var second: [Float] = []
    public var states: [Float] = []
    public var stateWidth = 0
    /// The bf16 wire's residuals, `residualUnits` rows of one value per parameter.
    public var residuals: [Float] = []
    public var residualUnits = 0
    /// Hex digest of the training corpus's tokens; nil for a checkpoint older than the field.
    public var dataDigest: String?
    /// Whether `dataDigest` is an older rnntrain's (SHA-256 of the ids as Int32), recorded
    /// without `data_digest_of`; today's digest hashes the token files and says so.
    public var dataDigestIsLegacy = false
    /// The kernels that computed this state; nil for a checkpoint older than the field (unknown).
    public var kernels: ComputeKernels?
    /// The lowest validation loss so far and its step (`checkpoint.best`, `train.early_stop`);
    /// nil before the first validation that tracked it.
    public var best: BestValidation?
    /// Validations since the one that found `best` (early stopping's count toward its patience).
    public var validationsSinceBest = 0

    public init() {}

    public func encode() -> [UInt8] {
        first.withUnsafeBufferPointer { first in
            second.withUnsafeBufferPointer { second in
                states.withUnsafeBufferPointer { states in
                    residuals.withUnsafeBufferPointer { residuals in
                        let views = [
                            SafeTensors.Float32View(name: "optimizer.first", shape: [first.count], values: first),
                            SafeTensors.Float32View(name: "optimizer.second", shape: [second.count], values: second),
                            SafeTensors.Float32View(name: "states", shape: [states.count / max(1, stateWidth), stateWidth], values: states),
                            SafeTensors.Float32View(name: "reduce.residual", shape: [residualUnits, residuals.count / max(1, residualUnits)],
                                                    values: residuals),
                        ]
                        return SafeTensors.encode(float32: views.filter { !$0.values.isEmpty }, metadata: metadata)
                    }
                }
            }
        }
    }

    /// The counters and records of `__metadata__`.
    private var metadata: [String: String] {
        var metadata = ["format": "rnntrain-state", "step": String(step), "optimizer_updates": String(optimizerUpdates),
                        "skipped_steps": String(skippedSteps), "tokens": String(tokens), "elapsed_s": String(elapsed)]
        metadata["data_digest"] = dataDigest
        if dataDigest != nil, !dataDigestIsLegacy { metadata["data_digest_of"] = Self.tokenFilesDigest }
        metadata["kernels_openblas"] = kernels?.openBLAS
        metadata["kernels_bf16"] = kernels?.bf16
        if let best {
            // Swift prints the shortest decimal that reads back as the same Double.
            metadata["best_val_loss"] = "\(best.loss)"
            metadata["best_step"] = String(best.step)
            metadata["validations_since_best"] = String(validationsSinceBest)
        }
        return metadata
    }

    /// Largest counter accepted: 2^53, beyond any real run, exact as a Double, and far enough from
    /// Int.max that a resumed run's `step += 1` and `tokens += n` cannot overflow.
    public static let maximumCounter = 1 << 53

    /// `data_digest_of` of today's data digest.
    static let tokenFilesDigest = "token-files"

    /// The tensors a state file may hold.
    static let tensorNames: Set<String> = ["optimizer.first", "optimizer.second", "states", "reduce.residual"]

    /// Reads and checks a state file: counters are decimal integers in [0, 2^53], elapsed_s a finite
    /// number ≥ 0, the moments F32 vectors, the states an F32 matrix, and no other tensor. Whether
    /// their sizes fit the model is for the caller (`Checkpoint`), which knows the model.
    public static func decode(_ bytes: [UInt8], source: String) throws -> TrainingState {
        func fail(_ reason: String) -> UserError { UserError("\(source): \(reason)") }
        let (tensors, metadata) = try SafeTensors.decodeWithMetadata(bytes, source: source)
        guard metadata["format"] == "rnntrain-state" else { throw fail("not an rnntrain training state") }
        func integer(_ key: String) throws -> Int {
            guard let text = metadata[key], !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let value = Int(text), value <= maximumCounter else {
                let shown = metadata[key].map { " (\(JSON.quotedShort($0)))" } ?? ""
                throw fail("metadata \(key) is missing or not a count from 0 to 2^53\(shown)")
            }
            return value
        }
        var s = TrainingState()
        s.step = try integer("step")
        s.optimizerUpdates = try integer("optimizer_updates")
        s.skippedSteps = try integer("skipped_steps")
        s.tokens = try integer("tokens")
        if let text = metadata["elapsed_s"] {
            guard let elapsed = Double(text), elapsed.isFinite, elapsed >= 0 else {
                throw fail("metadata elapsed_s \(JSON.quotedShort(text)) is not a finite number of seconds ≥ 0")
            }
            s.elapsed = elapsed
        }
        if let digest = metadata["data_digest"] {
            guard (16...64).contains(digest.utf8.count), Hex.decode(digest.utf8) != nil else {
                throw fail("metadata data_digest \(JSON.quotedShort(digest)) is not 16 to 64 hex digits")
            }
            s.dataDigest = digest
            switch metadata["data_digest_of"] {
            case nil: s.dataDigestIsLegacy = true
            case Self.tokenFilesDigest?: break
            case let other?: throw fail("metadata data_digest_of \(JSON.quotedShort(other)) is not \(Self.tokenFilesDigest)")
            }
        }
        s.kernels = try decodeKernels(metadata, fail: fail)
        if let text = metadata["best_val_loss"] {
            guard let loss = Double(text), loss.isFinite, loss >= 0 else {
                throw fail("metadata best_val_loss \(JSON.quotedShort(text)) is not a finite loss ≥ 0")
            }
            s.best = BestValidation(loss: loss, step: try integer("best_step"))
            s.validationsSinceBest = try integer("validations_since_best")
        }
        if let extra = tensors.keys.sorted().first(where: { !tensorNames.contains($0) }) {
            throw fail("unexpected tensor \(JSON.quotedShort(extra))")
        }
        func floats(_ name: String, rank: Int) throws -> (values: [Float], shape: [Int])? {
            guard let t = tensors[name] else { return nil }
            guard t.dtype == .f32 else { throw fail("\(name) has dtype \(t.dtype.rawValue), expected F32") }
            guard t.shape.count == rank else {
                throw fail("\(name) must have \(rank) dimension\(rank == 1 ? "" : "s"), has shape \(t.shape)")
            }
            return (try t.floats(), t.shape)
        }
        s.first = try floats("optimizer.first", rank: 1)?.values ?? []
        s.second = try floats("optimizer.second", rank: 1)?.values ?? []
        if let (values, shape) = try floats("states", rank: 2) {
            s.states = values
            s.stateWidth = shape[1]
        }
        if let (values, shape) = try floats("reduce.residual", rank: 2) {
            s.residuals = values
            s.residualUnits = shape[0]
        }
        return s
    }

    /// `kernels_openblas` (and `kernels_bf16` beside it, or neither): names of 1 to 64 letters,
    /// digits, spaces, `_`, `-` and `.`, which a refused resume quotes.
    static func decodeKernels(_ metadata: [String: String], fail: (String) -> UserError) throws -> ComputeKernels? {
        func name(_ key: String) throws -> String? {
            guard let text = metadata[key] else { return nil }
            let allowed = text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || " _-.".unicodeScalars.contains($0)) }
            guard (1...64).contains(text.utf8.count), allowed else {
                throw fail("metadata \(key) \(JSON.quotedShort(text)) is not a kernel name (1 to 64 letters, digits, spaces, _, - and .)")
            }
            return text
        }
        let openBLAS = try name("kernels_openblas"), bf16 = try name("kernels_bf16")
        guard let openBLAS else {
            if bf16 != nil { throw fail("metadata kernels_bf16 without kernels_openblas") }
            return nil
        }
        return ComputeKernels(openBLAS: openBLAS, bf16: bf16)
    }
}

/// The lowest validation loss of a run and the step that reached it.
public struct BestValidation: Equatable, Sendable {
    public var loss: Double
    public var step: Int

    public init(loss: Double, step: Int) {
        self.loss = loss
        self.step = step
    }
}
