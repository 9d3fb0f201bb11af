@testable import Checkpoints
import ErrorAssertions
import Foundation
import Glibc
import Models
import TestSupport
import XCTest

/// Peak resident set size of this process, in bytes (getrusage reports KiB on Linux).
func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// Asserts a reader's peak-memory growth stays below `bound`. Under AddressSanitizer the bound
/// holds only with its quarantine off (launch/test runs these tests so): the quarantine keeps every
/// freed block resident, up to 256 MB, so the peak would count what a reader ever allocated.
func assertMemoryGrowth(_ growth: Int, below bound: Int, _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThan(growth, bound, message(), file: file, line: line)
}

/// One targeted test per way a hostile file could crash, hang or balloon a reader of a checkpoint
/// (HostileConfigTests: the config's); FuzzTests throws mutated files at the same readers.
final class HostileInputTests: XCTestCase {
    /// A safetensors file with `header` as its JSON and `data` after it.
    func safetensors(header: String, data: [UInt8] = []) -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
        bytes += Array(header.utf8)
        return bytes + data
    }

    // MARK: safetensors header

    /// 16 MB of header that a tree-building parser would turn into ~100 MB of pairs before
    /// finding the problem: read entry by entry, it costs next to nothing.
    func testHugeHeaderObjectCostsLittleMemory() {
        let entry = safetensors(header: #"{"w":{"# + String(repeating: #""x":[],"#, count: 16 << 20 / 7) + #""y":[]}}"#)
        let metadata = safetensors(header: #"{"__metadata__":{"k":{"# + String(repeating: #""a":{},"#, count: 16 << 20 / 7) + #""b":1}}}"#)
        let before = peakRSS()
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(entry, source: "big") }, contains: "big: ", "unexpected key \"x\"")
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(metadata, source: "big") },
                      contains: "value for \"k\" is not a string")
        assertMemoryGrowth(peakRSS() - before, below: 8 << 20, "reading the headers grew the peak RSS by \((peakRSS() - before) >> 20) MB")
    }

    /// A syntax error anywhere in the header is reported as such, even after an entry that is wrong.
    func testSyntaxErrorsWinOverEntryProblems() {
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(safetensors(header: #"{"w":{}, "#), source: "s") },
                      contains: "s: header is not valid JSON")
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(safetensors(header: #"{"w":{},"v":{}}"#), source: "s") },
                      contains: "tensor \"w\": dtype missing")
    }

    // MARK: model.safetensors

    private var lstm: FuzzSeeds.Checkpoint { FuzzSeeds.checkpoints[0] }
    private var tiedGRU: FuzzSeeds.Checkpoint { FuzzSeeds.checkpoints[1] }

    /// `file` re-encoded after `change` edits its metadata and tensors.
    func rewrite(_ file: [UInt8], metadata change: (inout [String: String]) -> Void = { _ in },
                 tensors changeTensors: (inout [SafeTensors.Tensor]) -> Void = { _ in }) throws -> [UInt8] {
        let decoded = try SafeTensors.decodeWithMetadata(file, source: "seed")
        var metadata = decoded.metadata
        var tensors = decoded.tensors.keys.sorted().map { decoded.tensors[$0]! }
        change(&metadata)
        changeTensors(&tensors)
        return SafeTensors.encode(tensors, metadata: metadata)
    }

    /// The model config JSON with `"key":<old>` replaced by `"key":<value>` (value as raw JSON text).
    func settingConfig(_ json: String, _ key: String, _ value: String) -> String {
        guard let range = json.range(of: "\"\(key)\":") else { XCTFail("no \(key) in \(json)"); return json }
        let end = json[range.upperBound...].firstIndex { $0 == "," || $0 == "}" }!
        return json.replacingCharacters(in: range.upperBound..<end, with: value)
    }

    func modelError(_ file: [UInt8]) -> String { userError { _ = try ModelFile.decode(file, source: "model.safetensors") } }

    /// A config far beyond any real model is refused by its limits; one within the limits but far
    /// beyond what the file holds is refused by comparing shapes. Neither allocates the model.
    func testHugeModelConfigIsRefusedBeforeAnyAllocation() throws {
        let cases: [(String, String, String)] = [
            ("hidden", "1000000000", "model.hidden: must be at most 65536, got 1000000000"),
            ("layers", "1099511627776", "model.layers: must be at most 256"),
            ("vocabulary", "9223372036854775807", "model.vocabulary: must be at most 16777216"),
            ("embedding", "-1", "model.embedding: must be at least 1"),
            ("context", "4611686018427387904", "model.context: must be at most 1024"),
        ]
        for (key, value, fragment) in cases {
            let file = try rewrite(lstm.model) { $0["model"] = settingConfig($0["model"]!, key, value) }
            assertMessage(modelError(file), contains: "model.safetensors: the model config in the metadata is impossible: ", fragment)
        }
        let before = peakRSS(), started = Date()
        let fitting: [(String, String, String)] = [
            ("hidden", "65536", "model.safetensors: rnn.weight_ih_l0 has shape [12, 2], the config needs [262144, 2]"),
            ("layers", "256", "model.safetensors: missing tensor rnn.weight_ih_l1"),
            ("embedding", "65536", "model.safetensors: encoder.weight has shape [4, 2], the config needs [4, 65536]"),
            ("vocabulary", "16777216", "model.safetensors: encoder.weight has shape [4, 2], the config needs [16777216, 2]"),
            ("bidirectional", "true", "model.safetensors: missing tensor rnn.weight_ih_l0_reverse"),
        ]
        for (key, value, message) in fitting {
            XCTAssertEqual(modelError(try rewrite(lstm.model) { $0["model"] = settingConfig($0["model"]!, key, value) }), message)
        }
        assertMemoryGrowth(peakRSS() - before, below: 16 << 20, "a refused config allocated \((peakRSS() - before) >> 20) MB")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testModelConfigJSONIsBoundedAndStrict() throws {
        let cases: [(String, String)] = [
            (#"{"hidden":{"a":1}}"#, "not a flat JSON object: nesting deeper than 1 levels"),
            (String(repeating: "[", count: 100_000), "is 100000 bytes, more than 4096"),
            (String(repeating: "[", count: 4000), "not a flat JSON object"),
            (#"{"hidden":3,"hidden":3}"#, "lists \"hidden\" twice"),
            (#"{"shape":1}"#, "unknown key \"shape\""),
            (#"["lstm"]"#, "not a JSON object"),
        ]
        for (json, fragment) in cases {
            assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = json }), contains: "model.safetensors: the model config in the metadata ", fragment)
        }
        let model = try SafeTensors.decodeWithMetadata(lstm.model, source: "seed").metadata["model"]!
        assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = settingConfig(model, "hidden", "3.5") }), contains: "unreadable value for \"hidden\"")
        assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = settingConfig(model, "hidden", "1e400") }), contains: "unreadable value for \"hidden\"")
        assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = settingConfig(model, "cell", "\"Trans Former\"") }), contains: "unreadable value for \"cell\"")
        assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = settingConfig(model, "cell", "\"transformer\"") }),
                      contains: "model.cell: expected one of")
        assertMessage(modelError(try rewrite(lstm.model) { $0["model"] = model.replacingOccurrences(of: #""cell":"lstm","#, with: "") }), contains: "lacks \"cell\"")
    }

    /// The vocabulary is read only as far as the model's size, which the file vouched for.
    func testVocabularyIsReadOnlyUpToTheModelSize() throws {
        let huge = "[" + Array(repeating: #""a""#, count: 2_000_000).joined(separator: ",") + "]"
        let file = try rewrite(lstm.model) { $0["vocabulary"] = huge }
        let before = peakRSS()
        assertMessage(modelError(file), contains: "model.safetensors: the vocabulary in the metadata lists more than the model's 4 tokens")
        // The header's metadata strings are held once as text (about the file's size); reading
        // the vocabulary stops at the model's 4 tokens instead of building two million strings.
        assertMemoryGrowth(peakRSS() - before, below: 4 * file.count)
        let cases: [(String, String)] = [
            (String(repeating: "[", count: 200_000), "the vocabulary in the metadata is not valid JSON: nesting deeper than 1 levels"),
            ("[" + String(repeating: " ", count: 200_000), "the vocabulary in the metadata is not valid JSON: unexpected end at byte 200001"),
            (#"{"a":1}"#, "not a JSON array of strings"),
            (#"["\n",1,"b","c"]"#, "vocabulary entry 2 in the metadata is not a string"),
            (#"["\n","a","b"]"#, "the model has 4 outputs but the vocabulary 3 tokens"),
            (#"["\n","a","b","c"] x"#, "not valid JSON"),
            (#"["\n","a","b","line\nbreak"]"#, "model.safetensors: stored char vocabulary: token \"line\\nbreak\" is not a single Unicode scalar"),
            (#"["\n","a","b","a"]"#, "duplicate token \"a\""),
        ]
        for (json, fragment) in cases {
            assertMessage(modelError(try rewrite(lstm.model) { $0["vocabulary"] = json }), contains: fragment)
        }
        assertMessage(modelError(try rewrite(lstm.model) { $0["mask_token"] = "-1" }), contains: "mask_token \"-1\" is not a token id")
        assertMessage(modelError(try rewrite(lstm.model) { $0["tokenizer"] = "bpe" }), contains: "unknown tokenizer \"bpe\"")
    }

    func testTensorsAreCheckedAgainstTheConfigNamingTheFile() throws {
        let f64 = try rewrite(lstm.model, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "decoder.bias" }!
            let t = tensors[i]
            tensors[i] = SafeTensors.Tensor(name: t.name, dtype: .u8, shape: [t.bytes.count], bytes: t.bytes)
        })
        assertMessage(modelError(f64), contains: "model.safetensors: decoder.bias has shape [16], the config needs [4]")
        let u8 = try rewrite(lstm.model, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "decoder.bias" }!
            let t = tensors[i]
            tensors[i] = SafeTensors.Tensor(name: t.name, dtype: .i64, shape: t.shape, bytes: t.bytes + t.bytes)
        })
        assertMessage(modelError(u8), contains: "model.safetensors: decoder.bias has dtype I64, expected F32")
        let untied = try rewrite(tiedGRU.model, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "decoder.weight" }!
            let t = tensors[i]
            tensors[i] = SafeTensors.Tensor(name: t.name, dtype: .f32, shape: t.shape, bytes: t.bytes.map { $0 ^ 1 })
        })
        assertMessage(modelError(untied), contains: "model.safetensors: decoder.weight differs from encoder.weight, to which the config ties it")
        let stray = try rewrite(lstm.model, tensors: { $0.append(SafeTensors.Tensor(name: "x\ny", dtype: .u8, shape: [1], bytes: [0])) })
        assertMessage(modelError(stray), contains: "model.safetensors: unexpected tensor \"x\\ny\"")
    }

    // MARK: state.safetensors

    func stateError(_ file: [UInt8]) -> String { userError { _ = try TrainingState.decode(file, source: "state.safetensors") } }

    func testStateCountersAreBoundedCounts() throws {
        for value in ["-1", "+5", "1e3", " 5", "0x10", "", "9007199254740993", "9223372036854775807", "99999999999999999999"] {
            for key in ["step", "optimizer_updates", "skipped_steps", "tokens"] {
                let file = try rewrite(lstm.state) { $0[key] = value }
                assertMessage(stateError(file), contains: "state.safetensors: metadata \(key) is missing or not a count from 0 to 2^53")
            }
        }
        XCTAssertEqual(try TrainingState.decode(try rewrite(lstm.state) { $0["tokens"] = "9007199254740992" }, source: "s").tokens, 1 << 53)
        assertMessage(stateError(try rewrite(lstm.state) { $0["step"] = nil }), contains: "metadata step is missing")
        for value in ["nan", "inf", "-inf", "-1", "1e999", "x"] {
            assertMessage(stateError(try rewrite(lstm.state) { $0["elapsed_s"] = value }),
                          contains: "state.safetensors: metadata elapsed_s", "is not a finite number of seconds")
        }
        XCTAssertEqual(try TrainingState.decode(try rewrite(lstm.state) { $0["elapsed_s"] = nil }, source: "s").elapsed, 0)
    }

    func testStateBestValidationRoundTripsAndIsChecked() throws {
        var state = TrainingState()
        state.best = BestValidation(loss: 1.0 / 3.0, step: 40)
        state.validationsSinceBest = 2
        let decoded = try TrainingState.decode(state.encode(), source: "s")
        XCTAssertEqual(decoded.best, state.best, "the loss must read back to the same Double")
        XCTAssertEqual(decoded.validationsSinceBest, 2)
        XCTAssertNil(try TrainingState.decode(TrainingState().encode(), source: "s").best)
        for value in ["nan", "inf", "-1", "x", ""] {
            assertMessage(stateError(try rewrite(state.encode()) { $0["best_val_loss"] = value }),
                          contains: "state.safetensors: metadata best_val_loss", "is not a finite loss")
        }
        assertMessage(stateError(try rewrite(state.encode()) { $0["best_step"] = nil }), contains: "metadata best_step is missing")
        assertMessage(stateError(try rewrite(state.encode()) { $0["validations_since_best"] = "-2" }),
                      contains: "metadata validations_since_best is missing or not a count")
    }

    func testStateTensorsAreChecked() throws {
        let stray = try rewrite(lstm.state, tensors: { $0.append(SafeTensors.Tensor(name: "extra", dtype: .u8, shape: [1], bytes: [0])) })
        assertMessage(stateError(stray), contains: "state.safetensors: unexpected tensor \"extra\"")
        let wrongType = try rewrite(lstm.state, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "optimizer.first" }!
            tensors[i] = SafeTensors.Tensor(name: "optimizer.first", dtype: .u8, shape: [4], bytes: [1, 2, 3, 4])
        })
        assertMessage(stateError(wrongType), contains: "state.safetensors: optimizer.first has dtype U8, expected F32")
        let flat = try rewrite(lstm.state, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "states" }!
            tensors[i] = SafeTensors.Tensor(name: "states", dtype: .f32, shape: [tensors[i].bytes.count / 4], bytes: tensors[i].bytes)
        })
        assertMessage(stateError(flat), contains: "state.safetensors: states must have 2 dimensions")
    }

    // MARK: checkpoints

    func checkpointError(_ files: [String: [UInt8]]) -> String {
        userError { _ = try Checkpoints.Checkpoint(files: files, name: "ckpt") }
    }

    func testStateMustFitTheModel() throws {
        var files = lstm.files
        files[TrainingState.name] = try rewrite(lstm.state, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "optimizer.first" }!
            tensors[i] = SafeTensors.Tensor(name: "optimizer.first", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])
        })
        assertMessage(checkpointError(files), contains: "ckpt/state.safetensors: optimizer.first has 1 values, the model has")
        files[TrainingState.name] = try rewrite(lstm.state, tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "states" }!
            tensors[i] = SafeTensors.Tensor(name: "states", dtype: .f32, shape: [3, 4], bytes: [UInt8](repeating: 0, count: 48))
        })
        assertMessage(checkpointError(files), contains: "ckpt/state.safetensors: states are [3 × 4], the config needs [2 × 6]")
        // A state file of another checkpoint.
        files[TrainingState.name] = FuzzSeeds.checkpoints[2].state
        assertMessage(checkpointError(files), contains: "ckpt/state.safetensors: optimizer.first has")
    }

    func testConfigErrorsNameTheCheckpointFile() {
        var files = lstm.files
        files[Checkpoints.Checkpoint.configName] = Array(lstm.config.replacingOccurrences(of: "seq_len: 64", with: "seq_len: 0").utf8)
        XCTAssertEqual(checkpointError(files), "ckpt/config.yaml: not a config this rnntrain reads: \"train.seq_len: must be at least 1, got 0\"")
        files[Checkpoints.Checkpoint.configName] = Array("model: [".utf8)
        assertMessage(checkpointError(files), contains: "ckpt/config.yaml: not a config this rnntrain reads: \"invalid YAML")
    }

    // MARK: checkpoint directories

    func testManifestLimits() throws {
        let line = String(repeating: "a", count: 64) + "  "
        assertMessage(userError { _ = try CheckpointStore.parseManifest(Array((0..<300).map { line + "f\($0)\n" }.joined().utf8), source: "M") },
                      contains: "M: 300 lines, more than the 256 a manifest may have")
        assertMessage(userError { _ = try CheckpointStore.parseManifest([UInt8](repeating: 0x61, count: 100_000), source: "M") },
                      contains: "M: 100000 bytes, more than the")
        assertMessage(userError { _ = try CheckpointStore.parseManifest(Array((line + String(repeating: "n", count: 256) + "\n").utf8), source: "M") },
                      contains: "M: malformed line 1")
        assertMessage(userError { _ = try CheckpointStore.parseManifest(Array((line + "a\u{1}b\n").utf8), source: "M") },
                      contains: "M: malformed line 1")
        XCTAssertEqual(try CheckpointStore.parseManifest(Array((line + String(repeating: "n", count: 255) + "\n").utf8), source: "M").count, 1)
    }

    func testCheckpointFilesAreReadBoundedBySize() throws {
        let store = CheckpointStore(directory: try temporaryDirectory(self, "hostile-store"))
        let url = try store.write(step: 1, files: lstm.files)
        // A file that claims more bytes than this machine has (sparse: it takes no disk).
        let model = url.appendingPathComponent(ModelFile.name)
        XCTAssertEqual(truncate(model.path, off_t(CheckpointStore.maximumFileBytes) + 1), 0)
        let before = peakRSS()
        assertMessage(userError { _ = try CheckpointStore.read(url) }, contains: "model.safetensors: \(CheckpointStore.maximumFileBytes + 1) bytes, more than the")
        assertMemoryGrowth(peakRSS() - before, below: 8 << 20)
        // A name with a newline, not in the manifest: the message stays one line.
        try Data([1]).write(to: url.appendingPathComponent("odd\nname"))
        assertMessage(userError { _ = try CheckpointStore.read(url) }, contains: "\"odd\\nname\": not listed in SHA256SUMS")
    }
}
