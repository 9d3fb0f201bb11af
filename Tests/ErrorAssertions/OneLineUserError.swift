import Files
import XCTest

// The assertions of the hostile-input tests (HostileInputTests, HostileConfigTests).

/// The message of the UserError `body` throws; fails on success, on another error type, or when
/// the message is not one line.
public func userError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
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

public func assertMessage(_ message: String, contains fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    for fragment in fragments {
        XCTAssertTrue(message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
    }
}
