import XCTest

final class HelpTests: XCTestCase {
    func testEveryCommandIsListed() throws {
        let r = try Tool.rnntrain(["--help"])
        XCTAssertEqual(r.status, 0)
        for command in ["train", "eval", "sample", "inspect", "gradcheck"] {
            XCTAssertTrue(r.stdout.contains(command), "help does not list \(command):\n\(r.stdout)")
        }
    }
}
