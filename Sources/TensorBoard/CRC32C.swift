/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
/// the checksum of TFRecord framing, and its "masked" form.
///
/// Written here, in a table of 256 entries and one loop, because no dependency of rnntrain has it:
/// swift-crypto offers hashes and ciphers but no CRC, zlib's `crc32` is the other polynomial
/// (IEEE 802.3), and SSE4.2's `crc32` instruction would need a C target for 30 lines that run once
/// per log interval over a few hundred bytes.
public enum CRC32C {
    /// `table[b]`: the CRC register after shifting the byte `b` through it, eight bits at a time.
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes` (RFC 3720's iSCSI checksum: "123456789" gives 0xE3069283).
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// TFRecord's masked CRC: the checksum rotated right by 15 bits plus 0xA282EAD8, so that a
    /// CRC computed over data that itself holds CRCs does not come out trivially related to them.
    public static func masked<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
