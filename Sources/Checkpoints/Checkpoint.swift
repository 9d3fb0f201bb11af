import Config
import Files
import Foundation
import Kernels
import Models
import TextData

/// A checkpoint directory read back and checked: manifest, model, training state, config.
public struct Checkpoint {
    public static let configName = "config.yaml"
    /// Characters of a checkpoint's config error shown (a key and its complaint fit).
    static let excerptLength = 80

    public let name: String
    public let config: TrainingConfig
    public let model: Model<Float>
    public let vocabulary: Vocabulary
    public let state: TrainingState

    /// Verifies every checksum of the directory, then decodes it; the model computes its
    /// products in `precision`, or when nil in the one its config trained in.
    public static func load(_ path: String, precision: MatmulPrecision? = nil) throws -> Checkpoint {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UserError("\(path): no such checkpoint directory")
        }
        return try Checkpoint(files: try CheckpointStore.read(url), name: url.path, precision: precision)
    }

    /// The config.yaml of a checkpoint or an n-gram model, named `source` in errors. The file may
    /// be someone else's and its text anything: the reason it is refused, which quotes its keys
    /// and values, is shown only as a short, escaped excerpt.
    public static func parseConfig(_ bytes: [UInt8], source: String) throws -> TrainingConfig {
        do {
            let config = try TrainingConfig.parse(yaml: String(decoding: bytes, as: UTF8.self), source: source)
            try config.requireRegisteredCell(source: source)
            return config
        } catch let error as UserError {
            var reason = Substring(error.description)
            if reason.hasPrefix(source + ": ") { reason = reason.dropFirst(source.count + 2) }
            let excerpt = reason.count > excerptLength ? String(reason.prefix(excerptLength)) + "…" : String(reason)
            throw UserError("\(source): not a config this rnntrain reads: \(JSON.quote(excerpt))")
        }
    }

    /// Decodes the files of a checkpoint named `name` (whose checksums were verified); for
    /// `precision` see `load`.
    public init(files: [String: [UInt8]], name: String, precision: MatmulPrecision? = nil) throws {
        for file in [ModelFile.name, TrainingState.name, Self.configName] where files[file]?.isEmpty ?? true {
            throw UserError("\(name)/\(file): missing")
        }
        self.name = name
        config = try Self.parseConfig(files[Self.configName]!, source: "\(name)/\(Self.configName)")
        (model, vocabulary) = try ModelFile.decode(files[ModelFile.name]!, source: "\(name)/\(ModelFile.name)",
                                                   precision: precision ?? config.train.precision)
        var expected = config.model
        expected.vocabulary = vocabulary.count
        guard expected == model.config else {
            throw UserError("\(name)/\(ModelFile.name): its model differs from the one \(Self.configName) describes")
        }
        let stateSource = "\(name)/\(TrainingState.name)"
        state = try TrainingState.decode(files[TrainingState.name]!, source: stateSource)
        // The state must fit the model it resumes: moments one per parameter (or none, for an
        // optimizer without them), carried states one row of the model's state width per stream.
        for (label, values) in [("optimizer.first", state.first), ("optimizer.second", state.second)]
            where !values.isEmpty && values.count != model.layout.count {
            throw UserError("\(stateSource): \(label) has \(values.count) values, the model has \(model.layout.count) parameters")
        }
        if !state.residuals.isEmpty, state.residuals.count != state.residualUnits * model.layout.count {
            throw UserError("\(stateSource): reduce.residual has rows of \(state.residuals.count / max(1, state.residualUnits)) values, "
                            + "the model has \(model.layout.count) parameters")
        }
        if !state.states.isEmpty {
            let width = model.stateLayout.width, streams = config.train.globalBatch
            guard state.stateWidth == width, state.states.count == streams * width else {
                throw UserError("\(stateSource): states are [\(state.states.count / max(1, state.stateWidth)) × \(state.stateWidth)], "
                                + "the config needs [\(streams) × \(width)] (train.global_batch × the model's state width)")
            }
        }
    }
}
