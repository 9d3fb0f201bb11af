import Files
import Foundation
import TestSupport
import XCTest

/// The one JSON writer against JSONEncoder's escaping and the metrics lines written by hand
/// before it (CheckpointJSONTests: the files a checkpoint holds).
final class JSONWritingTests: XCTestCase {
    func testStringsAreEscapedAsJSONEncoderEscapesThem() throws {
        let encoder = JSONEncoder()
        let withSlashes = String(decoding: try encoder.encode(awkwardStrings), as: UTF8.self)
        XCTAssertEqual(JSON.array(awkwardStrings.map(JSON.string)).text(escapingSlashes: true), withSlashes)
        encoder.outputFormatting = .withoutEscapingSlashes
        let withoutSlashes = String(decoding: try encoder.encode(awkwardStrings), as: UTF8.self)
        XCTAssertEqual(JSON.array(awkwardStrings.map(JSON.string)).text(), withoutSlashes)
    }

    func testSpacedRecordsAndNonFiniteNumbers() {
        let record = JSON.object([("step", .number(10)), ("loss", .number(2.0)), ("lr", .number(1e-08)),
                                  ("val_loss", .number(Double.nan)), ("grad_norm", .number(-Double.infinity)),
                                  ("clipped", .bool(false)), ("shape", .array([.number(1), .number(2)]))])
        XCTAssertEqual(record.text(.spaced),
                       #"{"step": 10, "loss": 2.0, "lr": 1e-08, "val_loss": null, "grad_norm": null, "clipped": false, "shape": [1, 2]}"#)
        XCTAssertEqual(record.text(), #"{"step":10,"loss":2.0,"lr":1e-08,"val_loss":null,"grad_norm":null,"clipped":false,"shape":[1,2]}"#)
    }
}
