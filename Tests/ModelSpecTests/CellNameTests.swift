import Foundation
import ModelSpec
import XCTest

/// A cell's name is read by its form here (which names exist is Models' registry to say), so a
/// hostile file's `model.cell` is either a short plain name or refused.
final class CellNameTests: XCTestCase {
    func testOnlyShortLowerCaseNamesStartingWithALetterAreNames() {
        for name in ["lstm", "gru", "mgu", "rnn", "a", "x-2", String(repeating: "z", count: 32)] {
            XCTAssertEqual(Cell(rawValue: name)?.rawValue, name, name)
        }
        for bad in ["", "LSTM", "2gru", "-lstm", "ls tm", "lstm\n", "lstm.", "é", String(repeating: "z", count: 33)] {
            XCTAssertNil(Cell(rawValue: bad), bad)
        }
    }

    func testTheArchitectureIsTheMLPOrACellAndRoundTripsThroughJSON() throws {
        XCTAssertEqual(Architecture(rawValue: "mlp"), .windowedMLP)
        XCTAssertEqual(Architecture(rawValue: "mgu"), .recurrent(Cell(named: "mgu")))
        XCTAssertNil(Architecture(rawValue: "Trans Former"))
        for architecture in [Architecture.windowedMLP, .recurrent(.lstm), .recurrent(Cell(named: "mgu"))] {
            let json = try JSONEncoder().encode([architecture])
            XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"\(architecture.rawValue)\"]")
            XCTAssertEqual(try JSONDecoder().decode([Architecture].self, from: json), [architecture])
        }
        XCTAssertThrowsError(try JSONDecoder().decode([Architecture].self, from: Data(#"["Trans Former"]"#.utf8)))
    }
}
