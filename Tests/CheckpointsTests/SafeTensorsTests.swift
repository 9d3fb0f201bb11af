@testable import Checkpoints
import Files
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
    // MARK: - Fixtures

    private func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    private func f32(_ name: String, _ shape: [Int], _ values: [Float]) -> SafeTensors.Tensor {
        values.withUnsafeBufferPointer { SafeTensors.Tensor.float32(name: name, shape: shape, values: $0) }
    }

    /// Views of F32 values in place give the file that copies of them give, byte for byte, and
    /// the reader gives the values back.
    func testFloat32ViewsEncodeAsCopiedTensors() throws {
        let a: [Float] = [1, -2, 3.5, 0, .greatestFiniteMagnitude, -.leastNonzeroMagnitude], b: [Float] = [42], c: [Float] = []
        let copied = SafeTensors.encode([f32("z.a", [2, 3], a), f32("b", [], b), f32("c", [0, 3], c)], metadata: ["k": "v"])
        let viewed = a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeBufferPointer { c in
                    SafeTensors.encode(float32: [.init(name: "z.a", shape: [2, 3], values: a), .init(name: "b", shape: [], values: b),
                                                 .init(name: "c", shape: [0, 3], values: c)], metadata: ["k": "v"])
                }
            }
        }
        XCTAssertEqual(viewed, copied)
        XCTAssertEqual(try SafeTensors.decode(viewed, source: "x")["z.a"]?.floats(), a)
    }

    /// Several dtypes and shapes, including a 0-element tensor and a scalar.
    private func sampleTensors() -> [SafeTensors.Tensor] {
        [
            f32("rnn.weight_ih_l0", [2, 3], [1, -2, 3.5, 0, .greatestFiniteMagnitude, -.leastNonzeroMagnitude]),
            SafeTensors.Tensor(name: "moments", dtype: .f64, shape: [4],
                               bytes: littleEndian([1.0, -0.5, 1e300, 0].map { ($0 as Double).bitPattern })),
            SafeTensors.Tensor(name: "cursor", dtype: .i64, shape: [2, 2, 1], bytes: littleEndian([Int64.min, -1, 0, Int64.max])),
            SafeTensors.Tensor(name: "bytes", dtype: .u8, shape: [5], bytes: [0, 1, 127, 128, 255]),
            f32("empty", [0, 3], []),
            f32("scalar", [], [42]),
        ]
    }

    /// A file with a hand-written header (padded like encode does) and the given data.
    private func file(header: String, data: [UInt8] = [], padTo multiple: Int = 8) -> [UInt8] {
        var headerBytes = Array(header.utf8)
        while headerBytes.count % multiple != 0 { headerBytes.append(0x20) }
        return littleEndian([UInt64(headerBytes.count)]) + headerBytes + data
    }

    /// Asserts that decoding throws a UserError "<source>: …" whose text contains `fragment`.
    private func assertRejects(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.decodeWithMetadata(bytes, source: "bad.safetensors"), file: file, line: line) { error in
            guard let error = error as? UserError else { return XCTFail("not a UserError: \(error)", file: file, line: line) }
            XCTAssertTrue(error.description.hasPrefix("bad.safetensors: "), error.description, file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "'\(error.description)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), "not one line: \(error.description)", file: file, line: line)
        }
    }

    // MARK: - Round trip and layout

    func testRoundTripKeepsEveryTensorAndMetadata() throws {
        let tensors = sampleTensors()
        let metadata = ["config": "{\"hidden\": 256}", "vocabulary": "a\"b\\c\nd\u{1}é🙂", "empty": ""]
        let decoded = try SafeTensors.decodeWithMetadata(SafeTensors.encode(tensors, metadata: metadata), source: "x")
        XCTAssertEqual(decoded.metadata, metadata)
        XCTAssertEqual(Set(decoded.tensors.keys), Set(tensors.map(\.name)))
        for tensor in tensors {
            let back = try XCTUnwrap(decoded.tensors[tensor.name])
            XCTAssertEqual(back.name, tensor.name)
            XCTAssertEqual(back.dtype, tensor.dtype, tensor.name)
            XCTAssertEqual(back.shape, tensor.shape, tensor.name)
            XCTAssertEqual(back.bytes, tensor.bytes, tensor.name)
        }
        XCTAssertEqual(try decoded.tensors["scalar"]!.floats(), [42])
        XCTAssertEqual(try decoded.tensors["empty"]!.floats(), [])
        XCTAssertEqual(try decoded.tensors["rnn.weight_ih_l0"]!.floats(),
                       [1, -2, 3.5, 0, .greatestFiniteMagnitude, -.leastNonzeroMagnitude])
        XCTAssertEqual(try SafeTensors.decode(SafeTensors.encode([], metadata: [:]), source: "x").count, 0)
    }

    func testFloatsRejectsOtherDTypes() {
        let tensor = SafeTensors.Tensor(name: "bytes", dtype: .u8, shape: [2], bytes: [1, 2])
        XCTAssertThrowsError(try tensor.floats()) { error in
            XCTAssertTrue("\(error)".contains("U8"), "\(error)")
            XCTAssertTrue(error is UserError)
        }
    }

    func testDTypeSizes() {
        XCTAssertEqual(SafeTensors.DType.f32.size, 4)
        XCTAssertEqual(SafeTensors.DType.f64.size, 8)
        XCTAssertEqual(SafeTensors.DType.i64.size, 8)
        XCTAssertEqual(SafeTensors.DType.u8.size, 1)
        XCTAssertEqual(SafeTensors.DType(rawValue: "F32"), .f32)
    }

    /// The layout checked byte by byte, with Foundation's JSON parser as the independent reader.
    func testHeaderLayoutByHand() throws {
        let b = f32("b", [2], [1.5, -2])
        let a = SafeTensors.Tensor(name: "a", dtype: .u8, shape: [3], bytes: [7, 8, 9])
        let bytes = SafeTensors.encode([b, a], metadata: ["k": "v"])

        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(length % 8, 0, "header padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + length + 3 + 8)
        let headerBytes = Array(bytes[8..<(8 + length)])
        let text = String(decoding: headerBytes, as: UTF8.self)
        XCTAssertEqual(text.first, "{")
        let padding = text[text.index(after: try XCTUnwrap(text.lastIndex(of: "}")))...]
        XCTAssertTrue(padding.allSatisfy { $0 == " " }, "padding is trailing spaces only")
        XCTAssertLessThan(padding.count, 8, "no more padding than needed")
        // Sorted by name in the header: "a" appears before "b".
        let aPosition = try XCTUnwrap(text.range(of: "\"a\":")).lowerBound
        let bPosition = try XCTUnwrap(text.range(of: "\"b\":")).lowerBound
        XCTAssertLessThan(aPosition, bPosition)

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["__metadata__", "a", "b"])
        XCTAssertEqual(json["__metadata__"] as? [String: String], ["k": "v"])
        let entryA = try XCTUnwrap(json["a"] as? [String: Any])
        let entryB = try XCTUnwrap(json["b"] as? [String: Any])
        XCTAssertEqual(Set(entryA.keys), ["dtype", "shape", "data_offsets"])
        XCTAssertEqual(entryA["dtype"] as? String, "U8")
        XCTAssertEqual(entryA["shape"] as? [Int], [3])
        XCTAssertEqual(entryA["data_offsets"] as? [Int], [0, 3])
        XCTAssertEqual(entryB["dtype"] as? String, "F32")
        XCTAssertEqual(entryB["shape"] as? [Int], [2])
        XCTAssertEqual(entryB["data_offsets"] as? [Int], [3, 11])
        // Data in name order, contiguous: a's bytes, then b's little-endian floats.
        XCTAssertEqual(Array(bytes[(8 + length)...]), [7, 8, 9, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0])
        // No metadata, no "__metadata__" key (as the reference implementation writes it).
        XCTAssertFalse(String(decoding: SafeTensors.encode([a], metadata: [:]), as: UTF8.self).contains("__metadata__"))
    }

    /// python3 reads the file by the format's definition (no safetensors package needed) and reports
    /// what it sees; the F32 values are unpacked with struct.
    func testPythonReadsTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.safetensors")
        try Data(SafeTensors.encode(sampleTensors(), metadata: ["format": "pt"])).write(to: path)

        let script = """
        import json, struct, sys
        raw = open(sys.argv[1], "rb").read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        data = raw[8 + n:]
        meta = header.pop("__metadata__")
        out = {"n": n, "data": len(data), "meta": meta, "keys": list(header.keys()), "tensors": {}}
        for name, info in header.items():
            b, e = info["data_offsets"]
            entry = {"dtype": info["dtype"], "shape": info["shape"], "offsets": [b, e]}
            if info["dtype"] == "F32":
                entry["values"] = list(struct.unpack("<%df" % ((e - b) // 4), data[b:e]))
            out["tensors"][name] = entry
        print(json.dumps(out))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: output) as? [String: Any])
        let n = try XCTUnwrap(report["n"] as? Int)
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(report["meta"] as? [String: String], ["format": "pt"])
        let names = sampleTensors().map(\.name).sorted()
        XCTAssertEqual(report["keys"] as? [String], names, "header lists tensors sorted by name")
        let tensors = try XCTUnwrap(report["tensors"] as? [String: [String: Any]])
        var expectedOffset = 0
        for name in names {
            let tensor = sampleTensors().first { $0.name == name }!
            let entry = try XCTUnwrap(tensors[name])
            XCTAssertEqual(entry["dtype"] as? String, tensor.dtype.rawValue, name)
            XCTAssertEqual(entry["shape"] as? [Int], tensor.shape, name)
            XCTAssertEqual(entry["offsets"] as? [Int], [expectedOffset, expectedOffset + tensor.bytes.count], name)
            expectedOffset += tensor.bytes.count
        }
        XCTAssertEqual(report["data"] as? Int, expectedOffset, "data section holds exactly the tensors")
        XCTAssertEqual((tensors["scalar"]?["values"] as? [Double]), [42])
        XCTAssertEqual((tensors["rnn.weight_ih_l0"]?["values"] as? [Double])?.prefix(4), [1, -2, 3.5, 0])
    }

    // MARK: - Corruption

    func testEveryTruncationIsRejected() {
        let bytes = SafeTensors.encode([f32("w", [3], [1, 2, 3]), f32("z", [], [4])], metadata: ["k": "v"])
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensors.decode(Array(bytes.prefix(length)), source: "cut.safetensors"), "length \(length)") { error in
                XCTAssertTrue((error as? UserError)?.description.hasPrefix("cut.safetensors: ") == true, "\(error)")
            }
        }
        XCTAssertNoThrow(try SafeTensors.decode(bytes, source: "whole"))
    }

    /// Every byte of the length prefix and header, XOR 0xff: always rejected. Other single-bit
    /// flips may yield a different valid file (a renamed tensor), but never a crash or another error type.
    func testFlippedHeaderBytesAreRejectedOrHarmless() throws {
        let bytes = SafeTensors.encode([f32("w", [3], [1, 2, 3]), f32("z", [], [4])], metadata: ["k": "v"])
        let headerEnd = 8 + bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        for index in 0..<headerEnd {
            for mask: UInt8 in [0xff, 0x01, 0x20, 0x80] {
                var corrupt = bytes
                corrupt[index] ^= mask
                do {
                    _ = try SafeTensors.decode(corrupt, source: "flip")
                    XCTAssertNotEqual(mask, 0xff, "byte \(index) ^ 0xff accepted")
                } catch let error as UserError {
                    XCTAssertTrue(error.description.hasPrefix("flip: "), error.description)
                } catch {
                    XCTFail("byte \(index) ^ \(mask): not a UserError: \(error)")
                }
            }
        }
    }

    func testHugeOrOversizedHeaderLength() {
        var bytes = SafeTensors.encode([f32("w", [1], [1])], metadata: [:])
        bytes.replaceSubrange(0..<8, with: littleEndian([UInt64(1) << 63]))
        assertRejects(bytes, "header length")
        bytes.replaceSubrange(0..<8, with: littleEndian([UInt64.max]))
        assertRejects(bytes, "header length")
        bytes.replaceSubrange(0..<8, with: littleEndian([UInt64(bytes.count - 7)]))
        assertRejects(bytes, "truncated")
        assertRejects([1, 2, 3], "truncated")
    }

    func testBadShapes() {
        let data = [UInt8](repeating: 0, count: 8)
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data), "shape entry -2")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}}"#, data: data), "shape entry")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: data), "overflows")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: data), "overflows")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, data: data), "shape entry 1.5")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data: data), "shape entry")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, data: data), "shape missing")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data), "needs 12 bytes")
        // Zero-size tensors still need matching offsets.
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[0,5],"data_offsets":[0,8]}}"#, data: data), "needs 0 bytes")
    }

    func testBadOffsets() {
        let data = [UInt8](repeating: 0, count: 12)
        let entry = #""dtype":"F32","shape":[1]"#
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}"#, data: data), "exceed the 12-byte data section")
        assertRejects(file(header: #"{"w":{\#(entry),"data_offsets":[8,4]}}"#, data: data), "backwards")
        assertRejects(file(header: #"{"w":{\#(entry),"data_offsets":[0,-4]}}"#, data: data), "data_offsets")
        assertRejects(file(header: #"{"w":{\#(entry),"data_offsets":[0]}}"#, data: data), "two integers")
        assertRejects(file(header: #"{"w":{\#(entry),"data_offsets":[0,18446744073709551620]}}"#, data: data), "data_offsets")
        // Overlap: a [0,8) and b [4,12).
        assertRejects(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                           data: data), "overlaps")
        // Gap: a [0,4) and b [8,12).
        assertRejects(file(header: #"{"a":{\#(entry),"data_offsets":[0,4]},"b":{\#(entry),"data_offsets":[8,12]}}"#, data: data), "gap")
        // Data section not fully covered.
        assertRejects(file(header: #"{"a":{\#(entry),"data_offsets":[0,4]}}"#, data: data), "8 bytes at the end")
        // Out-of-order offsets in the header are fine as long as the data is tiled.
        XCTAssertNoThrow(try SafeTensors.decode(file(header: #"{"a":{\#(entry),"data_offsets":[8,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data), source: "ok"))
    }

    func testBadEntries() {
        let data = [UInt8](repeating: 0, count: 4)
        assertRejects(file(header: #"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: data), "unsupported dtype \"BF16\"")
        assertRejects(file(header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: data), "dtype missing")
        assertRejects(file(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: data), "dtype missing")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#, data: data), "unexpected key")
        assertRejects(file(header: #"{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data), "duplicate key")
        assertRejects(file(header: #"{"w":[1]}"#, data: data), "not an object")
        assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#, data: data),
                      "duplicate entry \"w\"")
        assertRejects(file(header: #"[]"#, data: data), "not a JSON object")
    }

    func testBadMetadata() {
        assertRejects(file(header: #"{"__metadata__":{"k":1}}"#), "value for \"k\" is not a string")
        assertRejects(file(header: #"{"__metadata__":{"k":["v"]}}"#), "not a string")
        assertRejects(file(header: #"{"__metadata__":{"k":null}}"#), "not a string")
        assertRejects(file(header: #"{"__metadata__":{"k":"a","k":"b"}}"#), "duplicate key \"k\"")
        assertRejects(file(header: #"{"__metadata__":"v"}"#), "__metadata__ is not an object")
        assertRejects(file(header: #"{"__metadata__":{},"__metadata__":{}}"#), "duplicate entry")
        XCTAssertEqual(try SafeTensors.decodeWithMetadata(file(header: #"{"__metadata__":{"k":"\u00e9\n"}}"#), source: "m").metadata,
                       ["k": "é\n"])
    }

    func testMalformedJSON() {
        assertRejects(file(header: #"{"__metadata__":{"a":[[[[1]]]]}}"#), "nesting deeper than 4")
        // Deep enough to overflow the stack of a naive recursive parser.
        assertRejects(file(header: String(repeating: "[", count: 200_000)), "nesting")
        assertRejects(file(header: #"{"w":}"#), "not valid JSON")
        assertRejects(file(header: #"{"w":{}"#), "not valid JSON")
        assertRejects(file(header: #"{} x"#), "after the value")
        assertRejects(file(header: "{\"a\u{1}\":{}}"), "control character")
        assertRejects(file(header: #"{"\ud800":{}}"#), "surrogate")
        assertRejects(file(header: #"{"__metadata__":{"k":"v"}}"#, padTo: 1) + [0], "belong to no tensor")
        assertRejects(file(header: "", padTo: 1), "not valid JSON")
        var invalidUTF8 = Array(#"{"xx":{}}"#.utf8)
        invalidUTF8[2] = 0xc3
        invalidUTF8[3] = 0x28
        assertRejects(littleEndian([UInt64(invalidUTF8.count)]) + invalidUTF8, "UTF-8")
        assertRejects(file(header: "{\"s\":[" + Array(repeating: "0", count: 5000).joined(separator: ",") + "]}"), "array longer")
    }
}
