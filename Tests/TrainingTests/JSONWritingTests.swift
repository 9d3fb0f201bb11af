@testable import Checkpoints
import Files
import Foundation
import Models
@testable import TextData
@testable import Training
import XCTest

/// The one JSON writer against what the files held before it: the hand-written safetensors header
/// and metrics lines, and JSONEncoder for the model config and the vocabulary.
final class JSONWritingTests: XCTestCase {
    /// Every control character, the characters JSON escapes, and text beyond ASCII.
    private let awkward: [String] = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        + ["\"", "\\", "/", "a/b", "\u{7f}", "é", "𝄞", "\u{2028}", "<unk>", ""]

    func testStringsAreEscapedAsJSONEncoderEscapesThem() throws {
        let encoder = JSONEncoder()
        let withSlashes = String(decoding: try encoder.encode(awkward), as: UTF8.self)
        XCTAssertEqual(JSON.array(awkward.map(JSON.string)).text(escapingSlashes: true), withSlashes)
        encoder.outputFormatting = .withoutEscapingSlashes
        let withoutSlashes = String(decoding: try encoder.encode(awkward), as: UTF8.self)
        XCTAssertEqual(JSON.array(awkward.map(JSON.string)).text(), withoutSlashes)
    }

    func testModelConfigAndVocabularyAreWrittenAsJSONEncoderWroteThem() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var configs: [ModelConfig] = []
        for (cell, dropout) in [(Cell.lstm, 0.0), (.gru, 0.25), (.rnn, 0.5), (.mlp, 1e-3)] {
            var config = ModelConfig()
            config.cell = cell
            config.dropout = dropout
            config.gruVariant = .linearBeforeReset
            config.vocabulary = awkward.count
            configs.append(config)
        }
        let vocabulary = try Vocabulary(kind: .word, tokens: ["<eos>", "<unk>"] + awkward.filter { !$0.isEmpty && $0 != "<unk>" },
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

    func testSpacedRecordsAndNonFiniteNumbers() {
        let record = JSON.object([("step", .number(10)), ("loss", .number(2.0)), ("lr", .number(1e-08)),
                                  ("val_loss", .number(Double.nan)), ("grad_norm", .number(-Double.infinity)),
                                  ("clipped", .bool(false)), ("shape", .array([.number(1), .number(2)]))])
        XCTAssertEqual(record.text(.spaced),
                       #"{"step": 10, "loss": 2.0, "lr": 1e-08, "val_loss": null, "grad_norm": null, "clipped": false, "shape": [1, 2]}"#)
        XCTAssertEqual(record.text(), #"{"step":10,"loss":2.0,"lr":1e-08,"val_loss":null,"grad_norm":null,"clipped":false,"shape":[1,2]}"#)
    }
}
