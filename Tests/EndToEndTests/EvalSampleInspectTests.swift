import Foundation
import XCTest

/// What a checkpoint gives back: eval's JSON, sampled text, inspect's summary.
final class EvalSampleInspectTests: XCTestCase {
    private var dir: URL!
    private var trainingText = ""
    private var text: URL!

    /// hidden h = 12, embedding E = 8, 2 layers, as tinyConfig sets them.
    private let h = 12, E = 8

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, name)
        trainingText = ownText(characters: 1500)
        text = try write(trainingText, to: dir.appendingPathComponent("text.txt"))
    }

    /// A 6-step char LSTM with no held-out part, so the vocabulary is exactly the text's characters.
    private func lmCheckpoint() throws -> URL {
        let run = dir.appendingPathComponent("lm")
        let config = tinyConfig(data: text, extra: ["data": [("val_fraction", "0.0")], "log": [("eval_every", "0")]])
        let r = try train(config, in: dir, runDir: run, name: "lm.yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        return run.appendingPathComponent("checkpoints/step-00000006")
    }

    private func eval(_ checkpoint: URL, _ data: URL) throws -> [String: Any] {
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", data.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = lines(r.stdout)
        XCTAssertEqual(out.count, 1, "eval should print one JSON object:\n\(r.stdout)")
        return try XCTUnwrap(jsonObject(out.first ?? ""), "not a JSON object: \(r.stdout)")
    }

    private func assertLossRelations(_ object: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        let loss = try XCTUnwrap(number(object["loss"]), file: file, line: line)
        let bits = try XCTUnwrap(number(object["bits_per_token"]), file: file, line: line)
        let perplexity = try XCTUnwrap(number(object["perplexity"]), file: file, line: line)
        XCTAssertTrue(loss.isFinite && loss > 0, "loss \(loss)", file: file, line: line)
        XCTAssertEqual(bits, loss / log(2), accuracy: 1e-9 * max(1, bits), file: file, line: line)
        XCTAssertEqual(perplexity, exp(loss), accuracy: 1e-9 * max(1, perplexity), file: file, line: line)
    }

    func testEvalOfLanguageModel() throws {
        let checkpoint = try lmCheckpoint()
        // A held-out text of our own, with "café" so characters (8) and bytes (9) differ.
        let heldOut = "warm caf\u{E9} rain taps.\nthe lamp hums.\n"
        XCTAssertEqual(Array(heldOut.utf8).count, heldOut.unicodeScalars.count + 1)
        XCTAssertTrue(Set(heldOut.unicodeScalars).isSubset(of: Set(trainingText.unicodeScalars)),
                      "the held-out text uses characters the model never saw")
        let data = try write(heldOut, to: dir.appendingPathComponent("held-out.txt"))
        let object = try eval(checkpoint, data)
        for key in ["loss", "bits_per_token", "perplexity", "tokens"] {
            XCTAssertNotNil(object[key], "eval lacks \(key): \(object)")
        }
        XCTAssertNil(object["accuracy"], "a language model has no masked-token accuracy")
        try assertLossRelations(object)
        // Every character but the first is predicted.
        XCTAssertEqual(number(object["tokens"]), Double(heldOut.unicodeScalars.count - 1))
        // Six small steps leave the model near uniform: loss close to ln V.
        let V = Double(sortedScalars(trainingText).count)
        let loss = try XCTUnwrap(number(object["loss"]))
        XCTAssertEqual(loss, log(V), accuracy: 1.0, "loss \(loss) is far from ln \(V) = \(log(V))")
        // The same file scores the same.
        XCTAssertEqual(number(try eval(checkpoint, data)["loss"]), loss)
        // The whole training text: one prediction per character after the first.
        XCTAssertEqual(number(try eval(checkpoint, text)["tokens"]), Double(trainingText.unicodeScalars.count - 1))
    }

    func testEvalOfFillInTheMiddleHasAccuracy() throws {
        let run = dir.appendingPathComponent("fill")
        let config = yaml([
            ("model", [("cell", "lstm"), ("layers", "1"), ("hidden", "8"), ("embedding", "6"), ("bidirectional", "true")]),
            ("data", [("path", "\"\(text.path)\""), ("mode", "windows"), ("task", "fill-in-the-middle"), ("mask_rate", "0.2")]),
            ("train", [("global_batch", "4"), ("seq_len", "8"), ("steps", "4")]),
            ("log", [("every", "2"), ("eval_every", "2")]),
        ])
        let r = try train(config, in: dir, runDir: run, name: "fill.yaml")
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try eval(run.appendingPathComponent("checkpoints/step-00000004"), text)
        try assertLossRelations(object)
        let accuracy = try XCTUnwrap(number(object["accuracy"]), "no accuracy: \(object)")
        XCTAssertTrue((0...1).contains(accuracy), "accuracy \(accuracy)")
        // Only masked positions are scored: about a fifth of the text, certainly not all of it.
        let tokens = try XCTUnwrap(number(object["tokens"]))
        let characters = Double(trainingText.unicodeScalars.count)
        XCTAssertTrue(tokens >= 1 && tokens < 0.5 * characters, "scored \(tokens) of \(characters) characters")
    }

    func testSample() throws {
        let checkpoint = try lmCheckpoint()
        func sample(_ seed: Int) throws -> String {
            let r = try Tool.rnntrain(["sample", "--checkpoint", checkpoint.path, "--prime", "ab", "--length", "20",
                                       "--seed", "\(seed)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout.hasSuffix("\n") ? String(r.stdout.dropLast()) : r.stdout
        }
        let a = try sample(3)
        XCTAssertTrue(a.hasPrefix("ab"), "does not start with the prime: \(a)")
        XCTAssertEqual(a.unicodeScalars.count, 2 + 20, "prime plus 20 characters expected: \(a.debugDescription)")
        let vocabulary = Set(sortedScalars(trainingText))
        for scalar in a.unicodeScalars.dropFirst(2) {
            XCTAssertTrue(vocabulary.contains(String(scalar)), "generated \(scalar), not in the training text")
        }
        XCTAssertEqual(try sample(3), a, "the same seed gave different text")
        let others = try [4, 5, 6].map(sample)
        XCTAssertTrue(others.contains { $0 != a }, "seeds 3, 4, 5, 6 all gave \(a)")
    }

    func testInspect() throws {
        let checkpoint = try lmCheckpoint()
        let r = try Tool.rnntrain(["inspect", checkpoint.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = lines(r.stdout)

        XCTAssertTrue(out.contains { $0.range(of: #"^step 6\b"#, options: .regularExpression) != nil },
                      "no \"step 6\" line:\n\(r.stdout)")

        // By hand: embedding V·E, per LSTM layer 4h·(in + h) + 8h, decoder V·h + V.
        let V = sortedScalars(trainingText).count
        let layer0 = 4 * h * (E + h) + 8 * h
        let layer1 = 4 * h * (h + h) + 8 * h
        let expected = V * E + layer0 + layer1 + V * h + V
        XCTAssertTrue(out.contains { $0.range(of: #"\bparameters \#(expected)\b"#, options: .regularExpression) != nil },
                      "no \"parameters \(expected)\" line:\n\(r.stdout)")

        for name in ["encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l1", "decoder.weight", "decoder.bias"] {
            XCTAssertTrue(r.stdout.contains(name), "inspect does not list \(name)")
        }
    }
}
