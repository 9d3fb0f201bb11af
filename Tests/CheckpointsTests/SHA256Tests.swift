@testable import Checkpoints
import Foundation
import XCTest

final class SHA256Tests: XCTestCase {
    private func hex(_ text: String) -> String { SHA256.hex(SHA256.hash(Array(text.utf8))) }

    /// FIPS 180-4 examples (NIST CSRC "Examples with intermediate values", SHA-256).
    func testNISTVectors() {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testDigestIs32BytesAndBothOverloadsAgree() {
        let bytes: [UInt8] = Array(0..<200)
        let fromArray = SHA256.hash(bytes)
        let fromPointer = bytes.withUnsafeBytes { SHA256.hash($0) }
        XCTAssertEqual(fromArray.count, 32)
        XCTAssertEqual(fromArray, fromPointer)
        XCTAssertEqual(SHA256.hex([0x00, 0x0f, 0xa0, 0xff]), "000fa0ff")
    }

    /// A random 1 MB buffer, plus every length 0...130 (all padding cases: one or two final blocks,
    /// lengths at and around 55/56/64/119/120/128), against the system's sha256sum.
    func testAgreesWithCoreutils() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var generator = SystemRandomNumberGenerator()
        var inputs: [(name: String, bytes: [UInt8])] = [("big", (0..<1_048_576).map { _ in UInt8.random(in: 0...255, using: &generator) })]
        for length in 0...130 { inputs.append(("len\(length)", (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })) }
        for input in inputs {
            try Data(input.bytes).write(to: directory.appendingPathComponent(input.name))
        }

        let output = try runTool("/usr/bin/sha256sum", inputs.map(\.name), in: directory)
        var expected: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            XCTAssertEqual(parts.count, 2, "unexpected sha256sum line \(line)")
            if parts.count == 2 { expected[String(parts[1].trimmingCharacters(in: .whitespaces))] = String(parts[0]) }
        }
        XCTAssertEqual(expected.count, inputs.count)
        for input in inputs {
            XCTAssertEqual(SHA256.hex(SHA256.hash(input.bytes)), expected[input.name], "input \(input.name)")
        }
    }

    /// Runs a tool, returns its stdout, fails the test on a non-zero exit.
    private func runTool(_ executable: String, _ arguments: [String], in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(executable) failed")
        return String(decoding: data, as: UTF8.self)
    }
}
