import Foundation
import XCTest

/// model.safetensors read by the format's definition and held against the state_dict PyTorch's
/// word-language-model gives: nn.Embedding(V, E) as `encoder`, nn.LSTM(E, h, layers) as `rnn`,
/// nn.Linear(h, V) as `decoder`.
final class PyTorchLayoutTests: XCTestCase {
    private var dir: URL!
    private var trainingText = ""
    private var text: URL!
    private let h = 12, E = 8, layers = 2

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        trainingText = ownText(characters: 1200)
        text = try write(trainingText, to: dir.appendingPathComponent("text.txt"))
    }

    /// model.safetensors of a 2-step char LSTM; no held-out part, so V is the text's characters.
    private func modelFile() throws -> URL {
        let run = dir.appendingPathComponent("run")
        let config = tinyConfig(data: text, extra: ["data": [("val_fraction", "0.0")], "train": [("steps", "2")],
                                                    "log": [("eval_every", "0")]])
        let r = try train(config, in: dir, runDir: run)
        XCTAssertEqual(r.status, 0, r.stderr)
        return run.appendingPathComponent("checkpoints/step-00000002/model.safetensors")
    }

    /// PyTorch's state_dict of Embedding(V, E) + LSTM(E, h, layers, bidirectional) + Linear(h·dirs, V),
    /// written out by hand: name → shape, gates i|f|g|o stacked in the first dimension.
    private func pytorchStateDict(V: Int, E: Int, h: Int, layers: Int, bidirectional: Bool) -> [String: [Int]] {
        var shapes = ["encoder.weight": [V, E]]
        let directions = bidirectional ? 2 : 1
        for layer in 0..<layers {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let input = layer == 0 ? E : h * directions
                shapes["rnn.weight_ih_l\(layer)\(suffix)"] = [4 * h, input]
                shapes["rnn.weight_hh_l\(layer)\(suffix)"] = [4 * h, h]
                shapes["rnn.bias_ih_l\(layer)\(suffix)"] = [4 * h]
                shapes["rnn.bias_hh_l\(layer)\(suffix)"] = [4 * h]
            }
        }
        shapes["decoder.weight"] = [V, h * directions]
        shapes["decoder.bias"] = [V]
        return shapes
    }

    /// Names, dtypes and shapes as PyTorch has them; data offsets tile the data section exactly.
    private func assertLayout(_ file: SafetensorsFile, _ expected: [String: [Int]],
                              line: UInt = #line) {
        XCTAssertEqual(Set(file.entries.keys), Set(expected.keys), "tensor names", line: line)
        for (name, shape) in expected {
            guard let entry = file.entries[name] else { continue }
            XCTAssertEqual(entry.dtype, "F32", name, line: line)
            XCTAssertEqual(entry.shape, shape, name, line: line)
            XCTAssertEqual(entry.end - entry.begin, 4 * shape.reduce(1, *), "\(name): byte range", line: line)
        }
        var covered = 0
        for entry in file.entries.values.sorted(by: { $0.begin < $1.begin }) {
            XCTAssertEqual(entry.begin, covered, "gap or overlap in the data section", line: line)
            covered = entry.end
        }
        XCTAssertEqual(covered, file.dataLength, "data section size", line: line)
        for name in expected.keys {
            XCTAssertTrue(file.floats(name).allSatisfy(\.isFinite), "\(name) holds non-finite values", line: line)
        }
    }

    func testTensorsMatchPyTorchStateDict() throws {
        let file = try SafetensorsFile(url: try modelFile())
        let V = sortedScalars(trainingText).count
        assertLayout(file, pytorchStateDict(V: V, E: E, h: h, layers: layers, bidirectional: false))
        // Trained weights are not all zero (an empty tensor would also pass the shape checks).
        XCTAssertTrue(file.floats("rnn.weight_hh_l1").contains { $0 != 0 })
    }

    func testMetadataHoldsConfigTokenizerAndVocabulary() throws {
        let file = try SafetensorsFile(url: try modelFile())
        let m = file.metadata
        XCTAssertEqual(m["tokenizer"], "char")

        let model = try XCTUnwrap(m["model"].flatMap(jsonObject), "model config is not a JSON object: \(m)")
        XCTAssertEqual(model["cell"] as? String, "lstm")
        XCTAssertEqual(number(model["hidden"]), Double(h))
        XCTAssertEqual(number(model["embedding"]), Double(E))
        XCTAssertEqual(number(model["layers"]), Double(layers))
        XCTAssertEqual(number(model["vocabulary"]), Double(sortedScalars(trainingText).count))

        let vocabularyJSON = try XCTUnwrap(m["vocabulary"], "no vocabulary in \(m.keys.sorted())")
        let vocabulary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(vocabularyJSON.utf8)) as? [String])
        XCTAssertEqual(vocabulary, sortedScalars(trainingText), "the vocabulary is not the text's characters in scalar order")
        XCTAssertTrue(vocabulary.contains("\u{E9}"))
    }

    /// The bidirectional, fill-in-the-middle case: `_reverse` tensors, 2h-wide upper layers and
    /// decoder, and "<mask>" as the last vocabulary entry.
    func testBidirectionalLayout() throws {
        let run = dir.appendingPathComponent("fill")
        let config = yaml([
            ("model", [("cell", "lstm"), ("layers", "2"), ("hidden", "6"), ("embedding", "5"), ("bidirectional", "true")]),
            ("data", [("path", "\"\(text.path)\""), ("val_fraction", "0.0"), ("mode", "windows"),
                      ("task", "fill-in-the-middle")]),
            ("train", [("global_batch", "2"), ("seq_len", "6"), ("steps", "1")]),
            ("log", [("eval_every", "0")]),
        ])
        let r = try train(config, in: dir, runDir: run, name: "fill.yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try SafetensorsFile(url: run.appendingPathComponent("checkpoints/step-00000001/model.safetensors"))
        let characters = sortedScalars(trainingText)
        assertLayout(file, pytorchStateDict(V: characters.count + 1, E: 5, h: 6, layers: 2, bidirectional: true))
        let vocabulary = try XCTUnwrap(file.metadata["vocabulary"].flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String]
        })
        XCTAssertEqual(vocabulary, characters + ["<mask>"])
    }
}
