import Foundation
import Models
import Numerics

/// A checkpoint directory read back and checked: manifest, model, training state, config.
public struct Checkpoint {
    public static let configName = "config.yaml"

    public let name: String
    public let config: TrainingConfig
    public let model: Model<Float>
    public let vocabulary: Vocabulary
    public let state: TrainingState

    /// Verifies every checksum of the directory, then decodes it.
    public static func load(_ path: String) throws -> Checkpoint {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UserError("\(path): no such checkpoint directory")
        }
        return try Checkpoint(files: try CheckpointStore.read(url), name: url.path)
    }

    /// Decodes the files of a checkpoint named `name` (whose checksums were verified).
    public init(files: [String: [UInt8]], name: String) throws {
        for file in [ModelFile.name, TrainingState.name, Self.configName] where files[file]?.isEmpty ?? true {
            throw UserError("\(name)/\(file): missing")
        }
        self.name = name
        config = try TrainingConfig.parse(yaml: String(decoding: files[Self.configName]!, as: UTF8.self),
                                          source: "\(name)/\(Self.configName)")
        (model, vocabulary) = try ModelFile.decode(files[ModelFile.name]!, source: "\(name)/\(ModelFile.name)")
        var expected = config.model
        expected.vocabulary = vocabulary.count
        guard expected == model.config else {
            throw UserError("\(name)/\(ModelFile.name): its model differs from the one \(Self.configName) describes")
        }
        state = try TrainingState.decode(files[TrainingState.name]!, source: "\(name)/\(TrainingState.name)")
    }
}
