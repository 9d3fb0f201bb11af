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

/// docs/configuration.md's option table is the one `rnntrain options` prints from the option definitions.
final class OptionTableTests: XCTestCase {
    func testDocsListEveryOptionAsTheToolDoes() throws {
        let r = try Tool.rnntrain(["options"])
        XCTAssertEqual(r.status, 0)
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("| `") || $0.hasPrefix("The registered recurrent cells") }
        XCTAssertGreaterThan(rows.count, 40, "the table lists every option")
        let page = try String(contentsOf: Tool.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for row in rows {
            XCTAssertTrue(page.contains(row), "docs/configuration.md lacks or differs in: \(row)")
        }
    }
}
