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

    /// `--reset-every K`: a block as long as the text is full context; refused where there is no
    /// state to reset (an n-gram model, a windowed MLP) and for K < 1.
    /// `--data` names a directory or a glob as `data.path` does: its files joined in path order,
    /// a "\n" after a file that lacks one, scored as the one text they make.
    func testEvalOfADirectoryOrGlobScoresTheJoinedText() throws {
        let checkpoint = try lmCheckpoint()
        let parts = dir.appendingPathComponent("parts")
        try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
        let lines = trainingText.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.prefix(lines.count / 2).joined(separator: "\n"), second = lines.dropFirst(lines.count / 2).joined(separator: "\n")
        _ = try write(second, to: parts.appendingPathComponent("b.txt"))
        _ = try write(first, to: parts.appendingPathComponent("a.txt"))
        let joined = try write(first + "\n" + second, to: dir.appendingPathComponent("joined.txt"))
        let whole = try eval(checkpoint, joined)
        for source in [parts, parts.appendingPathComponent("*.txt")] {
            let r = try eval(checkpoint, source)
            XCTAssertEqual(number(r["loss"]), number(whole["loss"]), source.path)
            XCTAssertEqual(number(r["tokens"]), number(whole["tokens"]), source.path)
        }
    }

    func testEvalWithTheStateResetEveryKTokens() throws {
        let checkpoint = try lmCheckpoint()
        let args = ["eval", "--checkpoint", checkpoint.path, "--data", text.path]
        let full = try eval(checkpoint, text)
        let whole = try Tool.rnntrain(args + ["--reset-every", "100000"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let object = try XCTUnwrap(jsonObject(whole.stdout))
        XCTAssertEqual(number(object["reset_every"]), 100000)
        XCTAssertEqual(number(object["tokens"]), number(full["tokens"]))
        let loss = try XCTUnwrap(number(object["loss"])), fullLoss = try XCTUnwrap(number(full["loss"]))
        XCTAssertEqual(loss, fullLoss, accuracy: 1e-5 * fullLoss)
        let one = try Tool.rnntrain(args + ["--reset-every", "1"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertNotEqual(number(jsonObject(one.stdout)?["loss"]), loss)

        let zero = try Tool.rnntrain(args + ["--reset-every", "0"])
        XCTAssertEqual(zero.status, 2, zero.stderr)
        XCTAssertTrue(zero.stderr.contains("--reset-every must be at least 1"), zero.stderr)
        let mlpRun = dir.appendingPathComponent("mlp")
        let config = tinyConfig(data: text, extra: ["model": [("cell", "mlp"), ("layers", "1"), ("context", "3")], "log": [("eval_every", "0")]])
        XCTAssertEqual(try train(config, in: dir, runDir: mlpRun, name: "mlp.yaml").status, 0)
        let mlp = try Tool.rnntrain(["eval", "--checkpoint", mlpRun.appendingPathComponent("checkpoints/step-00000006").path,
                                     "--data", text.path, "--reset-every", "4"])
        assertBadInput(mlp, mentions: ["--reset-every is for recurrent language models", "model.context"], "an MLP")
        let ngramRun = dir.appendingPathComponent("ngram")
        XCTAssertEqual(try Tool.rnntrain(["ngram", "--config", dir.appendingPathComponent("mlp.yaml").path, "--run-dir", ngramRun.path]).status, 0)
        let ngram = try Tool.rnntrain(["eval", "--checkpoint", ngramRun.path, "--data", text.path, "--reset-every", "4"])
        assertBadInput(ngram, mentions: ["--reset-every is for recurrent models", "order"], "an n-gram model")
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

    // MARK: Non-finite weights and overflowing outputs (issue 11, failure 6)

    /// A copy of `checkpoint` in `name` where each tensor named in `changes` has its values
    /// written over its first entries, with SHA256SUMS made again by coreutils' sha256sum, as a
    /// hand-made checkpoint would be.
    private func handMade(_ checkpoint: URL, _ name: String, _ changes: [(tensor: String, values: [Float])]) throws -> URL {
        let copy = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: checkpoint, to: copy)
        let model = copy.appendingPathComponent("model.safetensors")
        var file = try SafetensorsFile(url: model)
        for (tensor, values) in changes {
            let entry = try XCTUnwrap(file.entries[tensor], "no \(tensor)")
            XCTAssertLessThanOrEqual(values.count * 4, entry.end - entry.begin)
            for (k, value) in values.enumerated() {
                for i in 0..<4 {
                    file.bytes[8 + file.headerLength + entry.begin + 4 * k + i] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32(i)))
                }
            }
        }
        try write(bytes: file.bytes, to: model)
        let sums = try Tool.run(URL(fileURLWithPath: "/usr/bin/sha256sum"), ["config.yaml", "model.safetensors", "state.safetensors"],
                                directory: copy)
        XCTAssertEqual(sums.status, 0, sums.stderr)
        try write(sums.stdout, to: copy.appendingPathComponent("SHA256SUMS"))
        return copy
    }

    /// Eval of `checkpoint` on the training text, expected to print JSON and exit 2 with one
    /// stderr line naming each of `nulls`.
    private func evalWithNulls(_ checkpoint: URL, _ nulls: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try Tool.rnntrain(["eval", "--checkpoint", checkpoint.path, "--data", text.path])
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr, file: file, line: line)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout,
                                   file: file, line: line)
        for key in nulls {
            XCTAssertTrue(object[key] is NSNull, "\(key): \(String(describing: object[key]))", file: file, line: line)
            XCTAssertTrue(lines(r.stderr).first?.contains(key) ?? false, "the line does not name \(key): \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(number(object["tokens"]), Double(trainingText.unicodeScalars.count - 1), file: file, line: line)
        return object
    }

    func testNonFiniteWeightsAreRefusedByEvalAndSampleAndCountedByInspect() throws {
        let bad = try handMade(try lmCheckpoint(), "nan", [("rnn.weight_hh_l1", [.nan, .infinity, -.infinity])])
        for arguments in [["eval", "--checkpoint", bad.path, "--data", text.path], ["sample", "--checkpoint", bad.path, "--length", "5"]] {
            let r = try Tool.rnntrain(arguments)
            assertBadInput(r, mentions: ["\(bad.path)/model.safetensors", "3 of", "not finite", "rnn.weight_hh_l1"], arguments[0])
            XCTAssertEqual(r.stdout, "", "\(arguments[0]) printed output of a model it cannot run")
        }
        let r = try Tool.rnntrain(["inspect", bad.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("non-finite weights 3 (the first in rnn.weight_hh_l1)"), r.stdout)
    }

    /// Finite weights whose logits overflow Float: decoder row 0 and its bias at the largest
    /// Float make logit 0 infinite wherever the last layer's outputs sum above 0, row 1 (all
    /// negative, bias positive) wherever they sum below; inf − inf in the softmax is NaN.
    func testEvalPrintsValidJSONWhenTheLossIsNaN() throws {
        let big = Float.greatestFiniteMagnitude
        let weights = [Float](repeating: big, count: h) + [Float](repeating: -big, count: h)
        let overflowing = try handMade(try lmCheckpoint(), "overflow", [("decoder.weight", weights), ("decoder.bias", [big, big])])
        _ = try evalWithNulls(overflowing, ["loss", "bits_per_token", "perplexity"])
    }

    /// One output bias at +3e38, the others at -3e38: each loss is finite but about 6e38 nats, so
    /// the perplexity e^loss is beyond the largest Double.
    func testEvalPrintsValidJSONWhenThePerplexityOverflows() throws {
        let V = sortedScalars(trainingText).count
        let huge = try handMade(try lmCheckpoint(), "huge", [("decoder.bias", [Float(3e38)] + [Float](repeating: -3e38, count: V - 1))])
        let object = try evalWithNulls(huge, ["perplexity"])
        let loss = try XCTUnwrap(number(object["loss"]))
        XCTAssertTrue(loss.isFinite && loss > 1e38, "loss \(loss)")
    }

    /// The ends of the seed's range are seeds like any other.
    func testSampleTakesEverySeedOfItsRange() throws {
        let checkpoint = try lmCheckpoint()
        for seed in ["0", "18446744073709551615"] {
            let r = try Tool.rnntrain(["sample", "--checkpoint", checkpoint.path, "--length", "5", "--seed", seed])
            XCTAssertEqual(r.status, 0, "--seed \(seed): \(r.stderr)")
            XCTAssertEqual(r.stdout.unicodeScalars.count, 5 + 1, "--seed \(seed): \(r.stdout.debugDescription)")
        }
    }
}
