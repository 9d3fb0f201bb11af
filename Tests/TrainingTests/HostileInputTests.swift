import Foundation
import Models
@testable import Training
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Peak resident set size of this process, in bytes (getrusage reports KiB on Linux).
func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// One targeted test per way a hostile file could crash, hang or balloon a reader; FuzzTests
/// throws mutated files at the same readers.
final class HostileInputTests: XCTestCase {
    /// The message of the UserError `body` throws; fails on success or on another error type.
    func userError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected a UserError, got success", file: file, line: line)
        } catch let error as UserError {
            XCTAssertFalse(error.description.contains("\n"), "not one line: \(error.description)", file: file, line: line)
            return error.description
        } catch {
            XCTFail("expected a UserError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        return ""
    }

    func assertMessage(_ message: String, contains fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        for fragment in fragments {
            XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
        }
    }

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
        XCTAssertLessThan(peakRSS() - before, 8 << 20, "reading the headers grew the peak RSS by \((peakRSS() - before) >> 20) MB")
    }

    /// A syntax error anywhere in the header is reported as such, even after an entry that is wrong.
    func testSyntaxErrorsWinOverEntryProblems() {
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(safetensors(header: #"{"w":{}, "#), source: "s") },
                      contains: "s: header is not valid JSON")
        assertMessage(userError { _ = try SafeTensors.decodeWithMetadata(safetensors(header: #"{"w":{},"v":{}}"#), source: "s") },
                      contains: "tensor \"w\": dtype missing")
    }
}
