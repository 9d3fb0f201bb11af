import Foundation
import Models
import Numerics

/// `model.safetensors`: every tensor in F32 under its PyTorch name (a tied decoder weight is
/// written under both names, as `state_dict()` lists it), and in `__metadata__` the model config,
/// the tokenizer and the vocabulary. `load_state_dict(strict=True)` takes it as it is.
public enum ModelFile {
    public static let name = "model.safetensors"

    public static func encode(model: Model<Float>, vocabulary: Vocabulary) -> [UInt8] {
        let tensors = model.layout.tensors.map { t in
            SafeTensors.Tensor.float32(name: t.name, shape: t.shape,
                                       values: UnsafeBufferPointer(start: model.parameters.base + t.offset, count: t.count))
        }
        return SafeTensors.encode(tensors, metadata: metadata(config: model.config, vocabulary: vocabulary))
    }

    static func metadata(config: ModelConfig, vocabulary: Vocabulary) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<V: Encodable>(_ value: V) -> String { String(decoding: try! encoder.encode(value), as: UTF8.self) }
        var m = ["format": "rnntrain", "model": json(config), "tokenizer": vocabulary.kind.rawValue,
                 "vocabulary": json(vocabulary.tokens)]
        if let mask = vocabulary.maskToken { m["mask_token"] = String(mask) }
        return m
    }

    /// The model and vocabulary a file holds; every tensor must be present with its shape, and
    /// no other tensor may be.
    public static func decode(_ bytes: [UInt8], source: String) throws -> (model: Model<Float>, vocabulary: Vocabulary) {
        let (tensors, metadata) = try SafeTensors.decodeWithMetadata(bytes, source: source)
        guard metadata["format"] == "rnntrain", let configJSON = metadata["model"],
              let kindName = metadata["tokenizer"], let kind = TokenizerKind(rawValue: kindName),
              let vocabJSON = metadata["vocabulary"] else {
            throw UserError("\(source): not an rnntrain model (metadata lacks format, model, tokenizer or vocabulary)")
        }
        let config: ModelConfig, tokens: [String]
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: Data(configJSON.utf8))
            tokens = try JSONDecoder().decode([String].self, from: Data(vocabJSON.utf8))
        } catch {
            throw UserError("\(source): unreadable model config or vocabulary in the metadata")
        }
        let mask: Int32?
        if let m = metadata["mask_token"] {
            guard let id = Int32(m) else { throw UserError("\(source): mask_token \"\(m)\" is not a token id") }
            mask = id
        } else {
            mask = nil
        }
        let vocabulary = try Vocabulary(kind: kind, tokens: tokens, maskToken: mask)
        guard config.vocabulary == vocabulary.count else {
            throw UserError("\(source): the model has \(config.vocabulary) outputs but the vocabulary \(vocabulary.count) tokens")
        }
        let model: Model<Float>
        do { model = try Model<Float>(config: config) } catch {
            throw UserError("\(source): \(error)")
        }
        let expected = Set(model.layout.tensors.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw UserError("\(source): unexpected tensor \(extra)")
        }
        for t in model.layout.tensors {
            guard let stored = tensors[t.name] else { throw UserError("\(source): missing tensor \(t.name)") }
            guard stored.shape == t.shape else {
                throw UserError("\(source): \(t.name) has shape \(stored.shape), the config needs \(t.shape)")
            }
            guard t.aliasOf == nil else { continue }
            let values = try stored.floats()
            values.withUnsafeBufferPointer { (model.parameters.base + t.offset).update(from: $0.baseAddress!, count: t.count) }
        }
        return (model, vocabulary)
    }
}
