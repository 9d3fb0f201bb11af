import Foundation
import XCTest

// Helpers shared by the end-to-end tests: scratch directories, our own small texts, tiny
// configs, and independent readers for what the tool writes (JSON lines, two-level YAML,
// safetensors). Nothing here links the tool's modules: the tests see only its files and output.

/// A fresh directory under the system temporary directory, removed when the test ends.
func scratchDirectory(_ test: XCTestCase, _ label: String = #function) throws -> URL {
    let name = "rnntrain-e2e-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

@discardableResult
func write(_ text: String, to url: URL) throws -> URL {
    try Data(text.utf8).write(to: url)
    return url
}

@discardableResult
func write(bytes: [UInt8], to url: URL) throws -> URL {
    try Data(bytes).write(to: url)
    return url
}

/// Our own text: sentences made of a fixed word list, chosen by a small LCG, so it is
/// repetitive enough that every character of any tail also occurs in the head. Contains
/// "café" (U+00E9 precomposed) so characters and bytes differ. At least `characters` long.
func ownText(characters: Int, seed: UInt64 = 7) -> String {
    let words = ["the", "small", "lamp", "hums", "beside", "a", "quiet", "window", "while", "rain",
                 "taps", "on", "old", "tin", "roofs", "and", "café", "cats", "doze", "near", "warm", "bread"]
        .map { $0.replacingOccurrences(of: "é", with: "\u{E9}") }
    var state = seed
    func next(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(n))
    }
    var text = ""
    while text.unicodeScalars.count < characters {
        let count = 4 + next(5)
        let sentence = (0..<count).map { _ in words[next(words.count)] }.joined(separator: " ")
        text += sentence.prefix(1).uppercased() + sentence.dropFirst() + ".\n"
    }
    return text
}

/// A YAML config from sections of `key: value` lines, in the order given.
func yaml(_ sections: [(String, [(String, String)])]) -> String {
    sections.map { section, keys in
        "\(section):\n" + keys.map { "  \($0.0): \($0.1)\n" }.joined()
    }.joined()
}

/// The tiny stream-mode LSTM every flow test starts from: hidden 12, embedding 8, 2 layers,
/// B = 4, τ = 8, 6 steps. `extra` entries replace or add keys.
func tinyConfig(data: URL, extra: [String: [(String, String)]] = [:]) -> String {
    var sections: [(String, [(String, String)])] = [
        ("model", [("cell", "lstm"), ("layers", "2"), ("hidden", "12"), ("embedding", "8")]),
        ("data", [("path", "\"\(data.path)\""), ("tokenizer", "char"), ("mode", "stream")]),
        ("train", [("global_batch", "4"), ("seq_len", "8"), ("steps", "6"), ("seed", "5")]),
        ("optimizer", [("type", "adam"), ("lr", "0.01")]),
        ("checkpoint", [("every", "3"), ("keep", "3")]),
        ("log", [("every", "1"), ("eval_every", "3")]),
    ]
    for (section, keys) in extra {
        if let i = sections.firstIndex(where: { $0.0 == section }) {
            for (key, value) in keys {
                if let j = sections[i].1.firstIndex(where: { $0.0 == key }) {
                    sections[i].1[j].1 = value
                } else {
                    sections[i].1.append((key, value))
                }
            }
        } else {
            sections.append((section, keys))
        }
    }
    return yaml(sections)
}

/// Non-empty lines of a text.
func lines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
}

/// One JSON object, or nil.
func jsonObject(_ text: String) -> [String: Any]? {
    guard let data = text.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

func number(_ value: Any?) -> Double? {
    (value as? NSNumber)?.doubleValue
}

/// The project rule for bad input: exit status 2, exactly one non-empty line on stderr that
/// names the problem (each of `mentions` appears in it), and nothing on stdout that claims
/// a result was written.
func assertBadInput(_ r: Tool.Result, mentions: [String], _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.status, 2, "\(what): exit status (stderr: \(r.stderr))", file: file, line: line)
    let errorLines = lines(r.stderr)
    XCTAssertEqual(errorLines.count, 1, "\(what): expected one stderr line, got:\n\(r.stderr)", file: file, line: line)
    guard let message = errorLines.first else { return }
    XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Stack dump"),
                   "\(what): crashed:\n\(r.stderr)", file: file, line: line)
    for m in mentions {
        XCTAssertTrue(message.contains(m), "\(what): the error line does not name \(m):\n\(message)", file: file, line: line)
    }
    XCTAssertFalse(r.stdout.contains("checkpoint:"), "\(what): wrote a checkpoint:\n\(r.stdout)", file: file, line: line)
}

/// Nothing half-written: the run directory does not exist or is empty.
func assertNothingWritten(_ runDir: URL, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let contents = (try? FileManager.default.contentsOfDirectory(atPath: runDir.path)) ?? []
    XCTAssertEqual(contents, [], "\(what): the run directory was left with \(contents)", file: file, line: line)
    let checkpoints = runDir.appendingPathComponent("checkpoints")
    let steps = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
    XCTAssertEqual(steps, [], "\(what): checkpoints left behind: \(steps)", file: file, line: line)
}

/// Names under `checkpoints/` that look like step directories, sorted.
func checkpointNames(_ runDir: URL) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent("checkpoints").path)) ?? []
    return names.filter { $0.hasPrefix("step-") }.sorted()
}

/// A minimal reader for the two-level YAML the run directory holds ("section:" at column 0,
/// "  key: value" under it, comments and blank lines ignored). Any other line shape fails.
func readTwoLevelYAML(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: String]? {
    var out: [String: String] = [:]
    var section: String?
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let lineText = String(raw)
        let trimmed = lineText.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
        if !lineText.hasPrefix(" ") {
            guard lineText.hasSuffix(":"), !lineText.dropLast().contains(":") else {
                XCTFail("not a section line: \(lineText)", file: file, line: line)
                return nil
            }
            section = String(lineText.dropLast())
            continue
        }
        guard let section, lineText.hasPrefix("  "), !lineText.hasPrefix("   "),
              let colon = trimmed.range(of: ": ") else {
            XCTFail("not a key line: \(lineText)", file: file, line: line)
            return nil
        }
        let key = String(trimmed[..<colon.lowerBound])
        let value = String(trimmed[colon.upperBound...])
        guard !key.isEmpty, !value.isEmpty, out["\(section).\(key)"] == nil else {
            XCTFail("bad or repeated key line: \(lineText)", file: file, line: line)
            return nil
        }
        out["\(section).\(key)"] = value
    }
    return out
}

/// A safetensors file read by the format's definition: 8-byte little-endian header length N,
/// N bytes of JSON header, then the data.
struct SafetensorsFile {
    struct Entry {
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    var headerLength: Int
    var entries: [String: Entry]
    var metadata: [String: String]
    var dataLength: Int
    var bytes: [UInt8]

    init(url: URL) throws {
        bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count >= 8 else { throw Failure("shorter than 8 bytes") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else { throw Failure("header length \(n) beyond the file") }
        headerLength = Int(n)
        dataLength = bytes.count - 8 - headerLength
        let header = Data(bytes[8..<(8 + headerLength)])
        guard let root = try JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw Failure("header is not a JSON object")
        }
        entries = [:]
        metadata = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw Failure("__metadata__ is not string → string") }
                metadata = m
                continue
            }
            guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw Failure("entry \(name) lacks dtype, shape or data_offsets")
            }
            guard 0 <= offsets[0], offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw Failure("entry \(name): data_offsets \(offsets) outside the \(dataLength) data bytes")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
    }

    var names: [String] { entries.keys.sorted() }

    /// A tensor's data bytes (empty for a name not in the file).
    func data(_ name: String) -> ArraySlice<UInt8> {
        guard let e = entries[name] else { return [] }
        return bytes[(8 + headerLength + e.begin)..<(8 + headerLength + e.end)]
    }

    /// Every tensor is F32 with 4 bytes per element of its shape (a model file, whose values
    /// `floats` reads); otherwise the first that is not.
    func checkFloat32() throws {
        for name in names {
            let e = entries[name]!
            guard e.dtype == "F32", e.end - e.begin == 4 * e.shape.reduce(1, *) else {
                throw Failure("\(name): \(e.dtype) \(e.shape) in \(e.end - e.begin) bytes, not F32 of that shape")
            }
        }
    }

    /// Little-endian F32 values of a tensor (empty for a name not in the file).
    func floats(_ name: String) -> [Float] {
        guard let e = entries[name] else { return [] }
        let base = 8 + headerLength + e.begin
        return stride(from: 0, to: e.end - e.begin, by: 4).map { k in
            var bits: UInt32 = 0
            for i in 0..<4 { bits |= UInt32(bytes[base + k + i]) << (8 * UInt32(i)) }
            return Float(bitPattern: bits)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

/// Distinct Unicode scalars of a text, sorted by value, each as a one-scalar string: what a
/// char vocabulary built from that text must hold.
func sortedScalars(_ text: String) -> [String] {
    Set(text.unicodeScalars.map(\.value)).sorted().map { String(Character(Unicode.Scalar($0)!)) }
}

/// Runs the tool's `train` with a config written into `dir`.
func train(_ config: String, in dir: URL, runDir: URL, name: String = "config.yaml",
           extra: [String] = []) throws -> Tool.Result {
    let url = try write(config, to: dir.appendingPathComponent(name))
    return try Tool.rnntrain(["train", "--config", url.path, "--run-dir", runDir.path] + extra)
}
