import Files
import Foundation
import XCTest

/// The writer emits a `.number` text only when it is an RFC 8259 number; anything else is null,
/// so no caller can make it write invalid JSON.
final class JSONNumberTextTests: XCTestCase {
    private func written(_ text: String) -> String { JSON.array([.number(text)]).text() }

    func testNumbersKeepTheirText() throws {
        for text in ["0", "-0", "7", "-12", "0.25", "1e-08", "2.5E+10", "-0.5e3", "123456789012345678901234567890"] {
            XCTAssertEqual(written(text), "[\(text)]")
            // JSONSerialization, an independent reader, agrees it is a number.
            XCTAssertTrue(try JSONSerialization.jsonObject(with: Data(written(text).utf8)) is [NSNumber], text)
        }
    }

    func testAnythingElseIsNull() throws {
        for text in ["nan", "-nan", "inf", "-inf", "NaN", "Infinity", "", "-", "01", "1.", ".5", "+1", "1e", "1e+",
                     "0x10", "1 ", " 1", "1,2", "1.5.2"] {
            XCTAssertEqual(written(text), "[null]", "\(text.debugDescription) was written as a number")
        }
        XCTAssertEqual(written("\(Float.nan)"), "[null]")
        XCTAssertEqual(JSON.number(-Double.infinity).text(), "null")
    }
}
