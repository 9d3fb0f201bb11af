@testable import TensorBoard
import XCTest

/// CRC-32C against published values, not against itself: RFC 3720 (iSCSI) appendix B.4, the
/// catalogue's check value for "123456789", and masked values computed by TensorBoard's own
/// Python reader (`tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c`).
final class CRC32CTests: XCTestCase {
    func testRFC3720Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113F_DB5C)
    }

    func testCheckValueAndEmptyInput() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testMaskedValuesAsTensorBoardComputesThem() {
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), 0xC78A_B0E5)
        // The 8-byte length 24 that starts every TensorFlow event file (its file_version record).
        XCTAssertEqual(CRC32C.masked([24, 0, 0, 0, 0, 0, 0, 0]), 0x224B_7FA3)
        // An empty input: CRC 0, rotated (still 0), plus the mask constant.
        XCTAssertEqual(CRC32C.masked([UInt8]()), 0xA282_EAD8)
    }
}
