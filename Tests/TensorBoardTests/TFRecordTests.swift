@testable import TensorBoard
import XCTest

final class TFRecordTests: XCTestCase {
    /// Every byte written out by hand; the two CRCs are TensorBoard's own masked_crc32c of the
    /// 8 length bytes (0x0E4999B0) and of the data (0xECD288CC).
    func testAFrameByteForByte() {
        XCTAssertEqual(TFRecord.frame([0x11, 0x22, 0x33]),
                       [3, 0, 0, 0, 0, 0, 0, 0, 0xB0, 0x99, 0x49, 0x0E, 0x11, 0x22, 0x33, 0xCC, 0x88, 0xD2, 0xEC])
    }

    /// The length is 64 bits, little-endian, for data of any size; the reader's bitwise CRCs agree.
    func testLengthsAcrossByteBoundaries() {
        for count in [0, 1, 255, 256, 70_000] {
            let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let framed = TFRecord.frame(data)
            XCTAssertEqual(framed.count, count + 16)
            XCTAssertEqual(RecordReader.littleEndian(framed[0..<8]), UInt64(count))
            let read = RecordReader(framed)
            XCTAssertEqual(read.records, [data], "count \(count)")
            XCTAssertEqual(read.trailing, 0)
        }
    }

    /// A file cut anywhere inside its last record (a crash during that write) still holds every
    /// earlier record whole, and the cut one is recognisably incomplete: too few bytes for the
    /// length it declares, or no length at all.
    func testACutAnywhereInTheLastRecordLeavesTheEarlierOnesWhole() {
        let records = [Array("first".utf8), Array("second record".utf8), Array("third".utf8)]
        let file = records.flatMap(TFRecord.frame)
        let lastStart = file.count - TFRecord.frame(records[2]).count
        for cut in lastStart..<file.count {
            let read = RecordReader(Array(file[..<cut]))
            XCTAssertEqual(read.records, Array(records[..<2]), "cut at byte \(cut)")
            XCTAssertEqual(read.trailing, cut - lastStart, "cut at byte \(cut)")
        }
        XCTAssertEqual(RecordReader(file).records, records)
    }
}
