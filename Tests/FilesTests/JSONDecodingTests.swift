import Files
import Foundation
import XCTest

/// `JSON.decode` against JSONDecoder, the reader it stands in for: the same values from the same
/// text, and the same refusals, with the key named.
final class JSONDecodingTests: XCTestCase {
    private enum Kind: String, Codable, Equatable { case alpha, beta }

    private struct Record: Codable, Equatable {
        var count: Int
        var small: UInt8
        var offset: Int64
        var rate: Double
        var scale: Float
        var on: Bool
        var name: String
        var kind: Kind
        var note: String?
    }

    private func tree(_ text: String) throws -> JSON {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, maximumDepth: 1, maximumItems: 64)
            return try parser.parseDocument()
        }
    }

    private func both(_ text: String) throws -> (tree: Record, decoder: Record) {
        (try tree(text).decode(Record.self), try JSONDecoder().decode(Record.self, from: Data(text.utf8)))
    }

    func testItReadsWhatJSONDecoderReads() throws {
        let texts = [
            #"{"count":3,"small":255,"offset":-9223372036854775808,"rate":0.25,"scale":1e-3,"on":true,"name":"a\u00e9\n","kind":"beta"}"#,
            #"{"kind":"alpha","name":"","on":false,"scale":-2.5E+10,"rate":-0,"offset":0,"small":0,"count":-7,"note":"n"}"#,
            #"{"count":0,"small":1,"offset":9223372036854775807,"rate":1.7976931348623157e308,"scale":3,"on":true,"name":"x","kind":"alpha","note":null}"#,
        ]
        for text in texts {
            let (fromTree, fromDecoder) = try both(text)
            XCTAssertEqual(fromTree, fromDecoder, text)
        }
        let record = Record(count: 42, small: 7, offset: -1, rate: 0.1, scale: 0.3, on: true, name: "q\"", kind: .beta, note: nil)
        let written = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        XCTAssertEqual(try tree(written).decode(Record.self), record)
    }

    func testItRefusesWhatJSONDecoderRefusesAndNamesTheKey() throws {
        let fields = [("count", "3"), ("small", "5"), ("offset", "1"), ("rate", "0.5"), ("scale", "1"), ("on", "true"),
                      ("name", "\"a\""), ("kind", "\"beta\"")]
        func object(_ members: [(String, String)]) -> String { "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}" }
        let cases: [(key: String, value: String)] = [
            ("count", "3.5"), ("count", "\"3\""), ("count", "99999999999999999999"), ("small", "256"), ("small", "-1"),
            ("offset", "true"), ("rate", "1e400"), ("rate", "null"), ("scale", "1e39"), ("on", "1"), ("name", "2"),
            ("kind", "\"gamma\""), ("kind", "null"),
        ]
        XCTAssertNoThrow(try both(object(fields)))
        for (key, value) in cases {
            let text = object(fields.map { $0.0 == key ? (key, value) : $0 })
            XCTAssertThrowsError(try JSONDecoder().decode(Record.self, from: Data(text.utf8)), "JSONDecoder took \(text)")
            XCTAssertThrowsError(try tree(text).decode(Record.self), "the tree decoder took \(text)") { error in
                switch error {
                case DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context),
                     DecodingError.valueNotFound(_, let context):
                    XCTAssertEqual(context.codingPath.map(\.stringValue), [key], text)
                default: XCTFail("\(text): \(error)")
                }
            }
        }
        let missing = object(fields.filter { $0.0 != "name" })
        XCTAssertThrowsError(try tree(missing).decode(Record.self)) { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "name")
        }
        XCTAssertThrowsError(try tree("[1]").decode(Record.self))
    }
}
