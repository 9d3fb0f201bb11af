import Config
import Files
import Foundation
import Kernels
import ModelSpec
import Models
import TextData

/// `model.safetensors`: every tensor in F32 under its PyTorch name (a tied decoder weight is
/// written under both names, as `state_dict()` lists it), and in `__metadata__` the model config,
/// the tokenizer and the vocabulary. `load_state_dict(strict=True)` takes it as it is.
public enum ModelFile {
    public static let name = "model.safetensors"

    public static func encode(model: Model<Float>, vocabulary: Vocabulary) -> [UInt8] {
        let views = model.layout.tensors.map { t in
            SafeTensors.Float32View(name: t.name, shape: t.shape,
                                    values: UnsafeBufferPointer(start: model.parameters.base + t.offset, count: t.count))
        }
        return SafeTensors.encode(float32: views, metadata: metadata(config: model.config, vocabulary: vocabulary))
    }

    /// The model config and the vocabulary are written as JSONEncoder wrote them into the files
    /// before JSON+Writing existed, so a model file keeps its bytes: `JSON.fields` for the config,
    /// and `/` escaped in the vocabulary.
    static func metadata(config: ModelConfig, vocabulary: Vocabulary) -> [String: String] {
        var m = ["format": "rnntrain", "model": JSON.fields(of: config, renaming: ModelConfig.fileKeys).text(),
                 "tokenizer": vocabulary.kind.rawValue,
                 "vocabulary": JSON.array(vocabulary.tokens.map(JSON.string)).text(escapingSlashes: true)]
        if let mask = vocabulary.maskToken { m["mask_token"] = String(mask) }
        return m
    }

    /// Longest model config JSON accepted in the metadata (ours is about 220 bytes).
    static let maximumConfigJSONLength = 4096

    /// The model and vocabulary a file holds; every tensor must be present with its shape, and
    /// no other tensor may be.
    ///
    /// Nothing is allocated for the model before the file has shown it holds it: the config is
    /// validated (sizes capped by `ModelConfig.Limit`), the tensor names and shapes it implies are
    /// compared with the file's, and only then is the model built, so its size is bounded by the
    /// file's. The vocabulary is read only up to the config's vocabulary size, which the file's
    /// `encoder.weight` has already vouched for. `precision` is only that of the model's
    /// products: the file's weights are fp32 whatever it is.
    public static func decode(_ bytes: [UInt8], source: String,
                              precision: MatmulPrecision = .fp32) throws -> (model: Model<Float>, vocabulary: Vocabulary) {
        func fail(_ reason: String) -> UserError { UserError("\(source): \(reason)") }
        let (tensors, metadata) = try SafeTensors.decodeWithMetadata(bytes, source: source)
        guard metadata["format"] == "rnntrain", let configJSON = metadata["model"],
              let kindName = metadata["tokenizer"], let vocabJSON = metadata["vocabulary"] else {
            throw fail("not an rnntrain model (metadata lacks format, model, tokenizer or vocabulary)")
        }
        guard let kind = TokenizerKind(rawValue: kindName) else {
            throw fail("unknown tokenizer \(JSON.quotedShort(kindName)) in the metadata")
        }
        let config = try decodeConfig(configJSON, fail: fail)
        do { try config.validate() } catch {
            throw fail("the model config in the metadata is impossible: \(error)")
        }

        // What the config implies, against what the file holds, before any allocation for the model.
        let layout = ParameterLayout(config: config)
        let expected = Set(layout.tensors.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw fail("unexpected tensor \(JSON.quotedShort(extra))")
        }
        for t in layout.tensors {
            guard let stored = tensors[t.name] else { throw fail("missing tensor \(t.name)") }
            guard stored.shape == t.shape else {
                throw fail("\(t.name) has shape \(stored.shape), the config needs \(t.shape)")
            }
            guard stored.dtype == .f32 else { throw fail("\(t.name) has dtype \(stored.dtype.rawValue), expected F32") }
            if let original = t.aliasOf, stored.bytes != tensors[original]?.bytes {
                throw fail("\(t.name) differs from \(original), to which the config ties it")
            }
        }

        let mask: Int32?
        if let m = metadata["mask_token"] {
            guard let id = Int32(m), id >= 0 else { throw fail("mask_token \(JSON.quotedShort(m)) is not a token id") }
            mask = id
        } else {
            mask = nil
        }
        let tokens = try decodeTokens(vocabJSON, count: config.vocabulary, fail: fail)
        let vocabulary: Vocabulary
        do { vocabulary = try Vocabulary(kind: kind, tokens: tokens, maskToken: mask) } catch let error as UserError {
            throw fail(error.description)
        }
        guard config.vocabulary == vocabulary.count else {
            throw fail("the model has \(config.vocabulary) outputs but the vocabulary \(vocabulary.count) tokens")
        }

        let model: Model<Float>
        do { model = try Model<Float>(config: config, precision: precision) } catch {
            throw fail("\(error)")
        }
        for t in model.layout.tensors where t.aliasOf == nil {
            let destination = model.parameters.base + t.offset
            tensors[t.name]!.bytes.withUnsafeBytes { raw in
                for i in 0..<t.count {
                    destination[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
        }
        return (model, vocabulary)
    }

    /// The metadata's model config: a flat JSON object of ModelConfig's fields, each once, no
    /// other key, at most `maximumConfigJSONLength` bytes.
    static func decodeConfig(_ text: String, fail: (String) -> UserError) throws -> ModelConfig {
        guard text.utf8.count <= maximumConfigJSONLength else {
            throw fail("the model config in the metadata is \(text.utf8.count) bytes, more than \(maximumConfigJSONLength)")
        }
        // ModelConfig's fields by their keys in files.
        let keys = Set(Mirror(reflecting: ModelConfig()).children.compactMap { $0.label.map { ModelConfig.fileKeys[$0] ?? $0 } })
        let bytes = Array(text.utf8)
        let root: JSON
        do {
            root = try bytes.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(bytes: buffer, maximumDepth: 1, maximumItems: 64)
                return try parser.parseDocument()
            }
        } catch let error as JSONParser.Failure {
            throw fail("the model config in the metadata is not a flat JSON object: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let pairs) = root else { throw fail("the model config in the metadata is not a JSON object") }
        var seen = Set<String>()
        for (key, _) in pairs {
            guard keys.contains(key) else {
                throw fail("the model config in the metadata has an unknown key \(JSON.quotedShort(key))")
            }
            guard seen.insert(key).inserted else { throw fail("the model config in the metadata lists \(JSON.quotedShort(key)) twice") }
        }
        let config: ModelConfig
        do {
            config = try root.decode(ModelConfig.self)
        } catch let DecodingError.keyNotFound(key, _) {
            throw fail("the model config in the metadata lacks \(JSON.quotedShort(key.stringValue))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context),
                let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.last.map { JSON.quotedShort($0.stringValue) } ?? "a value"
            throw fail("the model config in the metadata has an unreadable value for \(key)")
        } catch {
            throw fail("the model config in the metadata is unreadable")
        }
        do {
            try CellRegistry.check(config)
        } catch let error as ModelError {
            throw fail("the model config in the metadata: \(error)")
        }
        return config
    }

    /// The metadata's vocabulary: a JSON array of exactly `count` strings. Reading stops at the
    /// first item beyond `count`, so a long list costs nothing the model does not justify.
    public static func decodeTokens(_ text: String, count: Int, fail: (String) -> UserError) throws -> [String] {
        let bytes = Array(text.utf8)
        do {
            return try bytes.withUnsafeBufferPointer { buffer -> [String] in
                var parser = JSONParser(bytes: buffer, maximumDepth: 1, maximumItems: count)
                guard parser.peek() == UInt8(ascii: "[") else {
                    throw fail("the vocabulary in the metadata is not a JSON array of strings")
                }
                try parser.beginContainer(depth: 0)
                var tokens: [String] = []
                var items = 0
                while true {
                    guard items < count || parser.peek() == UInt8(ascii: "]") else {
                        throw fail("the vocabulary in the metadata lists more than the model's \(count) tokens")
                    }
                    guard try parser.nextItem(count: &items) else { break }
                    guard parser.peek() == UInt8(ascii: "\"") else {
                        try parser.skipValue(depth: 1)  // a syntax or nesting error is reported as such
                        throw fail("vocabulary entry \(items) in the metadata is not a string")
                    }
                    tokens.append(try parser.parseString())
                }
                try parser.finish()
                return tokens
            }
        } catch let error as JSONParser.Failure {
            throw fail("the vocabulary in the metadata is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
    }
}
