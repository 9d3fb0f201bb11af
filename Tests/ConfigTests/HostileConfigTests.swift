@testable import Config
import ErrorAssertions
import Foundation
import Glibc
import TestSupport
import XCTest

/// One targeted test per way a hostile config could crash, hang or balloon its reader; FuzzTests
/// throws mutated configs at it.
final class HostileConfigTests: XCTestCase {
    func configError(_ yaml: String, _ overrides: [String] = []) -> String {
        userError { _ = try TrainingConfig.parse(yaml: yaml, source: "c.yaml", overrides: overrides) }
    }

    /// The billion laughs: 10 levels of 10 aliases, 10^10 nodes once expanded. As a mapping key,
    /// Yams would hash the whole expansion; the event check refuses the first alias instead.
    func testAliasesAnchorsAndTagsAreRefusedBeforeExpansion() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let laughs = lines.joined(separator: "\n") + "\n? *a9\n: 1\n"
        let started = Date()
        assertMessage(configError(laughs), contains: "c.yaml: line 1, column 5: anchor &\"a0\"", "no anchors, aliases or tags")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        let cases: [(String, String)] = [
            ("train:\n  steps: *s\n", "c.yaml: line 2, column 10: alias *\"s\""),
            ("train: &t\n  steps: 5\n", "anchor &\"t\""),
            ("train:\n  steps: !!int 5\n", "tag \"tag:yaml.org,2002:int\""),
            ("train: !!map\n  steps: 5\n", "tag \"tag:yaml.org,2002:map\""),
            ("data:\n  path: !!python/object/apply:os.system [\"rm -rf /\"]\n", "tag \"tag:yaml.org,2002:python/object/apply:os.system\""),
            ("data:\n  path: ! x\n", "tag \"!\""),
            ("optimizer: {<<: *o}\n", "alias *\"o\""),
        ]
        for (yaml, fragment) in cases { assertMessage(configError(yaml), contains: fragment) }
        assertMessage(configError("", ["train.steps=*x"]), contains: "--set train.steps=*x: line 1, column 1: alias")
        // Quoted, the same characters are plain text.
        XCTAssertEqual(try TrainingConfig.parse(yaml: "data:\n  path: \"*a &b !c\"\n", source: "c").data.path, "*a &b !c")
    }

    func testDeepNestingAndLargeConfigsAreRefused() {
        // libyaml scans a run of "[" or "{" ahead to its own limit of 1000 before the first event;
        // other forms reach the event check. Both say the same.
        for text in [String(repeating: "[", count: 60_000), String(repeating: "{\"a\": ", count: 9000), String(repeating: "- ", count: 30_000),
                     (0..<100).map { String(repeating: " ", count: $0) + "a:\n" }.joined()] {
            let started = Date()
            assertMessage(configError(text), contains: "c.yaml: ", "line ", "nested deeper than 8 levels")
            XCTAssertLessThan(Date().timeIntervalSince(started), 1, String(text.prefix(10)))
        }
        XCTAssertEqual(configError("train:\n  steps: [[[[[[[1]]]]]]]\n"), "c.yaml: line 2, column 16: nested deeper than 8 levels")
        assertMessage(configError("train:\n  steps: [[[[[[1]]]]]]\n"), contains: "c.yaml: train.steps: expected an integer, got a list of 1 item")
        assertMessage(configError(String(repeating: "#", count: 70_000)), contains: "c.yaml: 70000 bytes, more than the 65536 a config may have")
        assertMessage(configError("data:\n  path: [" + Array(repeating: "1", count: 5000).joined(separator: ",") + "]\n"),
                      contains: "more than 4096 values")
    }

    /// YAML 1.1 reads "1:30" as 90 (base 60); Yams computes it with trapping arithmetic.
    func testBase60IntegersAreRefusedWithoutTrapping() {
        for value in ["1:0:0:0:0:0:0:0:0:0:0:0", "9223372036854775807:0", "1:30"] {
            assertMessage(configError("train:\n  steps: \(value)\n"), contains: "c.yaml: train.steps: expected an integer, got \"\(value)\"")
            assertMessage(configError("train:\n  seed: \(value)\n"), contains: "c.yaml: train.seed: expected a non-negative integer")
            assertMessage(configError("optimizer:\n  lr: \(value)\n"), contains: "c.yaml: optimizer.lr: expected a finite number")
        }
    }

    func testIntegerOptionsHaveUpperBounds() {
        let cases: [(String, String)] = [
            ("model.hidden=65537", "model.hidden: must be at most 65536, got 65537"),
            ("model.layers=257", "model.layers: must be at most 256"),
            ("model.embedding=1000000", "model.embedding: must be at most 65536"),
            ("model.context=1025", "model.context: must be at most 1024"),
            ("bench.vocabulary=16777217", "bench.vocabulary: must be at most 16777216"),
            ("train.global_batch=65537", "train.global_batch: must be at most 65536"),
            ("train.seq_len=9223372036854775807", "train.seq_len: must be at most 65536"),
            ("train.epochs=1048577", "train.epochs: must be at most 1048576"),
            ("train.steps=1099511627777", "train.steps: must be at most 1099511627776"),
            ("log.eval_tokens=9223372036854775807", "log.eval_tokens: must be at most 1099511627776"),
        ]
        for (override, message) in cases { XCTAssertTrue(configError("", [override]).hasPrefix(message), override) }
        XCTAssertNoThrow(try TrainingConfig.parse(yaml: "", source: "c", overrides: ["model.hidden=65536", "train.steps=1099511627776"]))
    }

    func testHostileTextStaysOnOneLineAndIsQuick() {
        assertMessage(configError("\"a\\nb\": 1\n"), contains: "c.yaml: \"a\\nb\": unknown section")
        assertMessage(configError("train:\n  \"x\\ty\": 1\n"), contains: "c.yaml: train.\"x\\ty\": unknown key")
        assertMessage(configError("train:\n  steps: \"1\\n2\"\n"), contains: "expected an integer, got \"1\\n2\"")
        let started = Date()
        let long = String(repeating: "k", count: 60_000)
        let message = configError("train:\n  ? \(long)\n  : 1\n")
        assertMessage(message, contains: "c.yaml: train.\"kkk", "…\": unknown key")
        XCTAssertLessThan(message.count, 300)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "a long unknown key is not compared letter by letter with every option")
        assertMessage(configError("", ["train.steps=1\n2"]), contains: "--set \"train.steps=1\\n2\"")
        // Found by the fuzzer: a name starting with a combining mark fused with the ": " before it.
        XCTAssertTrue(configError("\u{741}3log: 1\n").utf8.starts(with: "c.yaml: \"\u{741}3log\": unknown section".utf8))
        assertMessage(userError { _ = try TrainingConfig.parse(yaml: "train: 5", source: "dir/a\nb.yaml") }, contains: "\"dir/a\\nb.yaml\": train:")
    }

    func testConfigFileReadIsBounded() throws {
        let directory = try temporaryDirectory(self, "hostile-config")
        let zero = try DeviceNode.make(DeviceNode.zero, named: "zero.yaml", in: directory)
        assertMessage(userError { _ = try TrainingConfig.load(path: zero.path) }, contains: "\(zero.path): not a regular file")
        let fifo = directory.appendingPathComponent("fifo.yaml").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        assertMessage(userError { _ = try TrainingConfig.load(path: fifo) }, contains: "fifo.yaml: not a regular file")
        let big = directory.appendingPathComponent("big.yaml")
        try Data(repeating: 0x23, count: 70_000).write(to: big)
        assertMessage(userError { _ = try TrainingConfig.load(path: big.path) }, contains: "big.yaml: 70000 bytes, more than the 65536")
    }
}
