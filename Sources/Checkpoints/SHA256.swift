import Crypto
import Files
import Foundation

/// SHA-256 for checkpoint manifests and replica checks, computed by swift-crypto (which carries
/// its own BoringSSL, linked statically: nothing is needed from the system). This enum only adapts
/// it to the byte arrays and buffers the callers hold, and prints digests as `sha256sum` does.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: bytes))
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: bytes))
    }

    /// The digest of bytes that come in pieces, for a file written as it is produced.
    public struct Stream {
        private var state = Crypto.SHA256()

        public init() {}

        public mutating func update(_ bytes: [UInt8]) { state.update(data: bytes) }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) { state.update(bufferPointer: bytes) }

        public func digest() -> [UInt8] { Array(state.finalize()) }
    }

    /// Lowercase hexadecimal, the form `sha256sum` prints.
    public static func hex(_ digest: [UInt8]) -> String { Hex.encode(digest) }
}
