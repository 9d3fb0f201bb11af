import Files
import XCTest

/// Asserts that `body` throws a UserError whose message contains every one of `parts`.
public func assertUserError<T>(_ body: @autoclosure () throws -> T, mentions parts: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a UserError mentioning \(parts)", file: file, line: line)
    } catch let error as UserError {
        for part in parts {
            XCTAssertTrue(error.description.contains(part), "\"\(error)\" does not mention \"\(part)\"",
                          file: file, line: line)
        }
    } catch {
        XCTFail("expected a UserError, got \(error)", file: file, line: line)
    }
}
