import Collectives
import Files
import XCTest

/// The description of the error `body` throws (a UserError, or an AgreedError carrying one);
/// fails the test and returns "" when it throws nothing.
public func thrownMessage(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> String {
    do {
        try body()
    } catch let error as UserError {
        return error.description
    } catch let error as AgreedError {
        return error.description
    } catch {
        XCTFail("expected a UserError, got \(type(of: error)): \(error)", file: file, line: line)
        return "\(error)"
    }
    XCTFail("expected an error, got success", file: file, line: line)
    return ""
}
