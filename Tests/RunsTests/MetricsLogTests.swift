import Files
import Foundation
@testable import Runs
@testable import Training
import XCTest

/// metrics.jsonl after a crash cut its last write: the next append starts a line of its own, and
/// every line of the file is a whole JSON object, read back by JSONSerialization.
final class MetricsLogTests: XCTestCase {
    private var url: URL!

    override func setUpWithError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        url = dir.appendingPathComponent("metrics.jsonl")
    }

    /// Each line of the file parsed on its own; a line that is not a JSON object fails the test.
    private func records(file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "the file does not end with a newline", file: file, line: line)
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { row in
            let object = try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any]
            return try XCTUnwrap(object, "not a JSON object: \(row)", file: file, line: line)
        }
    }

    private func steps(_ records: [[String: Any]]) -> [Int] { records.compactMap { $0["step"] as? Int } }

    func testAppendAfterAPartialLastLineStartsANewLine() throws {
        // Two whole records, then a third cut mid-number, as a crash during its write leaves it.
        let whole = "{\"step\": 1, \"loss\": 4.1}\n{\"step\": 2, \"loss\": 3.9}\n"
        try Data((whole + "{\"step\": 3, \"loss\": 209922.25").utf8).write(to: url)
        let log = try MetricsLog(url: url)
        try log.append([("step", .number(3)), ("loss", .number(3.75))])
        let r = try records()
        XCTAssertEqual(steps(r), [1, 2, 3])
        XCTAssertEqual(r.last?["loss"] as? Double, 3.75, "the new record is not intact: \(r)")
        XCTAssertTrue(String(decoding: try Data(contentsOf: url), as: UTF8.self).hasPrefix(whole), "a whole record was changed")
    }

    func testAPartialOnlyLineIsCut() throws {
        try Data("{\"step\": 1, \"lo".utf8).write(to: url)
        try MetricsLog(url: url).append([("step", .number(1))])
        XCTAssertEqual(steps(try records()), [1])
    }

    /// The cut is found across the 4 KiB chunks the search reads backwards in.
    func testAPartialLineLongerThanTheSearchChunk() throws {
        let whole = "{\"step\": 1}\n"
        try Data((whole + "{\"note\": \"" + String(repeating: "x", count: 10_000)).utf8).write(to: url)
        try MetricsLog(url: url).append([("step", .number(2))])
        XCTAssertEqual(steps(try records()), [1, 2])
    }

    func testACompleteFileIsLeftAsItWas() throws {
        let whole = "{\"step\": 1}\n{\"step\": 2}\n"
        try Data(whole.utf8).write(to: url)
        try MetricsLog(url: url).append([("step", .number(3))])
        XCTAssertEqual(String(decoding: try Data(contentsOf: url), as: UTF8.self), whole + "{\"step\": 3}\n")
    }

    func testAMissingFileIsCreated() throws {
        let log = try MetricsLog(url: url)
        try log.append([("step", .number(1)), ("val_loss", nil)])
        try log.append([("step", .number(2))])
        let r = try records()
        XCTAssertEqual(steps(r), [1, 2])
        XCTAssertNil(r[0]["val_loss"], "a nil value must leave its key out")
    }

    /// The loss of an interval whose every step was skipped is NaN; JSON has no NaN.
    func testNonFiniteNumbersAreWrittenAsNull() throws {
        try MetricsLog(url: url).append([("step", .number(5)), ("loss", .number(Double.nan)),
                                         ("grad_norm", .number(Double.infinity)), ("hand_made", .number("nan"))])
        let r = try XCTUnwrap(try records().first)
        XCTAssertEqual(r["step"] as? Int, 5)
        for key in ["loss", "grad_norm", "hand_made"] {
            XCTAssertTrue(r[key] is NSNull, "\(key) is \(String(describing: r[key])), not null")
        }
    }
}
