/// TFRecord framing, the container of TensorBoard event files: each record is
///
///     length      UInt64, little-endian: the byte count n of data
///     length CRC  UInt32, little-endian: CRC32C.masked of the 8 length bytes
///     data        n bytes (here a serialized Event)
///     data CRC    UInt32, little-endian: CRC32C.masked of data
///
/// so a reader can tell a record cut short (fewer bytes than the length promises, or no data CRC)
/// from a whole one, and TensorBoard's reader stops at such a record instead of misreading it.
public enum TFRecord {
    /// Bytes of framing around each record's data: 8 + 4 before, 4 after.
    public static let overhead = 16

    /// `data` framed as one record, `data.count + 16` bytes.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndian(UInt64(data.count))
        var record = length
        record.reserveCapacity(data.count + overhead)
        record += littleEndian(CRC32C.masked(length))
        record += data
        record += littleEndian(CRC32C.masked(data))
        return record
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
