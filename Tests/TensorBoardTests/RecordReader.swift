@testable import TensorBoard
import XCTest

/// The tests' own reader of TFRecord files, written from the format's description with a
/// bit-at-a-time CRC-32C, so it shares no code with the writer it checks.
struct RecordReader {
    /// The whole records, in order, and how many bytes follow the last one (a cut record).
    let records: [[UInt8]]
    let trailing: Int

    /// Reads `bytes`; a record whose length or data CRC does not match fails the test.
    init(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        var records: [[UInt8]] = []
        var at = 0
        while bytes.count - at >= 12 {
            let length = Int(Self.littleEndian(bytes[at..<at + 8]))
            XCTAssertEqual(Self.littleEndian(bytes[at + 8..<at + 12]), UInt64(Self.maskedCRC(bytes[at..<at + 8])),
                           "length CRC of the record at byte \(at)", file: file, line: line)
            guard bytes.count - at >= 12 + length + 4 else { break }
            let data = Array(bytes[at + 12..<at + 12 + length])
            XCTAssertEqual(Self.littleEndian(bytes[at + 12 + length..<at + 16 + length]), UInt64(Self.maskedCRC(data[...])),
                           "data CRC of the record at byte \(at)", file: file, line: line)
            records.append(data)
            at += 16 + length
        }
        self.records = records
        trailing = bytes.count - at
    }

    /// The records decoded as events.
    func events() throws -> [Tensorboard_Event] {
        try records.map { try Tensorboard_Event(serializedBytes: $0) }
    }

    static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// CRC-32C one bit at a time (reflected polynomial 0x82F63B78), then TFRecord's mask.
    static func maskedCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 0 ? 0 : 0x82F6_3B78) }
        }
        crc = ~crc
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
