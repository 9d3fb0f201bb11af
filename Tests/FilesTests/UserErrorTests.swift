import Files
import XCTest

final class UserErrorTests: XCTestCase {
    func testDescriptionIsTheMessage() {
        XCTAssertEqual("\(UserError("data.path: no such file"))", "data.path: no such file")
    }
}
