@testable import Checkpoints
import Foundation
import ModelSpec
import Models
import TestSupport
@testable import TextData
import XCTest

/// The JSON of a checkpoint's files, written by the one JSON writer, against what they held before
/// it: JSONEncoder for the model config and the vocabulary, the hand-written safetensors header.
final class CheckpointJSONTests: XCTestCase {
    func testModelConfigAndVocabularyAreWrittenAsJSONEncoderWroteThem() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var configs: [ModelConfig] = []
        for (architecture, dropout) in [(Architecture.recurrent(.lstm), 0.0), (.recurrent(.gru), 0.25), (.recurrent(.rnn), 0.5), (.windowedMLP, 1e-3)] {
            var config = ModelConfig()
            config.architecture = architecture
            config.dropout = dropout
            config.gruVariant = .linearBeforeReset
            config.vocabulary = awkwardStrings.count
            configs.append(config)
        }
        let vocabulary = try Vocabulary(kind: .word, tokens: ["<eos>", "<unk>"] + awkwardStrings.filter { !$0.isEmpty && $0 != "<unk>" },
                                        maskToken: nil)
        for config in configs {
            let metadata = ModelFile.metadata(config: config, vocabulary: vocabulary)
            XCTAssertEqual(metadata["model"], String(decoding: try encoder.encode(config), as: UTF8.self))
            XCTAssertEqual(metadata["vocabulary"], String(decoding: try encoder.encode(vocabulary.tokens), as: UTF8.self))
        }
    }

    func testSafeTensorsHeaderBytes() {
        let a = SafeTensors.Tensor(name: "a", dtype: .u8, shape: [3], bytes: [7, 8, 9])
        let s = SafeTensors.Tensor(name: "s", dtype: .f32, shape: [], bytes: [0, 0, 0, 0])
        let bytes = SafeTensors.encode([s, a], metadata: ["k": "v\"/\\", "b": "{\"x\":[1]}"])
        let header = #"{"__metadata__":{"b":"{\"x\":[1]}","k":"v\"/\\"},"#
            + #""a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"s":{"dtype":"F32","shape":[],"data_offsets":[3,7]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        XCTAssertEqual(String(decoding: bytes[8..<(8 + padded.utf8.count)], as: UTF8.self), padded)
    }
}
