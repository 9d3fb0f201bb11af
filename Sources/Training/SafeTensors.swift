/// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N,
/// N bytes of JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
/// ..., "__metadata__": {"key": "string value"}}, then the data. Tensors sorted by name in the
/// header; data in the same order, contiguous, no gaps. Offsets count from the start of the data.
///
/// The header is read by a small strict JSON parser below rather than JSONSerialization, because
/// the checks need what that API hides: duplicate keys, integers beyond 2^63, nesting depth.
public enum SafeTensors {
    public enum DType: String, Sendable {
        case f32 = "F32", f64 = "F64", i64 = "I64", u8 = "U8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f32: return 4
            case .f64, .i64: return 8
            case .u8: return 1
            }
        }
    }

    public struct Tensor: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Little-endian raw data, `shape.product × dtype.size` bytes (a scalar, shape [], has one element).
        public let bytes: [UInt8]

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            // A mismatch here is a bug in the caller, not a user error: decode checks files before
            // building tensors.
            precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) * dtype.size == bytes.count,
                         "tensor \(name): \(bytes.count) bytes do not fit shape \(shape) of \(dtype.rawValue)")
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public static func float32(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) -> Tensor {
            var bytes = [UInt8]()
            bytes.reserveCapacity(values.count * 4)
            #if _endian(little)
            bytes.append(contentsOf: UnsafeRawBufferPointer(values))
            #else
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            #endif
            return Tensor(name: name, dtype: .f32, shape: shape, bytes: bytes)
        }
    }

    /// Largest header accepted, as in the reference implementation: a bound on what a corrupt
    /// length field can make us parse.
    static let maximumHeaderLength = 100_000_000

    /// The file's bytes; the header JSON is padded with spaces to a multiple of 8 bytes, as the
    /// reference implementation does, so the data starts 8-byte aligned.
    public static func encode(_ tensors: [Tensor], metadata: [String: String]) -> [UInt8] {
        let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for i in sorted.indices {
            precondition(sorted[i].name != "__metadata__", "a tensor cannot be named __metadata__")
            precondition(i == 0 || sorted[i - 1].name != sorted[i].name, "duplicate tensor name \(sorted[i].name)")
        }
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in sorted {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.bytes.count
            entries.append("\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for tensor in sorted { out.append(contentsOf: tensor.bytes) }
        return out
    }

    /// Parses and checks everything (see `decodeWithMetadata`).
    public static func decode(_ bytes: [UInt8], source: String) throws -> [String: Tensor] {
        try decodeWithMetadata(bytes, source: source).tensors
    }

    /// Parses and checks everything: header length within the file and ≤ 100 MB, valid JSON
    /// (nesting depth ≤ 4), every entry has a known dtype, a shape of non-negative ints whose
    /// product × dtype size equals end − begin without overflow, offsets within the data section,
    /// tensors not overlapping, data section fully covered, metadata all strings, no duplicate
    /// names. Any violation → UserError("\(source): <reason>").
    public static func decodeWithMetadata(_ bytes: [UInt8], source: String) throws
        -> (tensors: [String: Tensor], metadata: [String: String])
    {
        func fail(_ reason: String) -> UserError { UserError("\(source): \(reason)") }

        guard bytes.count >= 8 else {
            throw fail("truncated: \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var claimed: UInt64 = 0
        for i in (0..<8).reversed() { claimed = claimed << 8 | UInt64(bytes[i]) }
        guard claimed <= UInt64(maximumHeaderLength) else {
            throw fail("header length \(claimed) exceeds the 100 MB limit (corrupt file?)")
        }
        let headerLength = Int(claimed)
        guard headerLength <= bytes.count - 8 else {
            throw fail("truncated: header length \(headerLength) but only \(bytes.count - 8) bytes follow")
        }
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart

        let root: JSON
        do {
            root = try bytes.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(bytes: UnsafeBufferPointer(rebasing: buffer[8..<dataStart]))
                return try parser.parseDocument()
            }
        } catch let error as JSONParser.Failure {
            throw fail("header is not valid JSON: \(error.reason) at header byte \(error.offset)")
        }
        guard case .object(let entries) = root else { throw fail("header is not a JSON object") }

        var metadata: [String: String]?
        var infos: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        var seen = Set<String>()
        for (name, value) in entries {
            guard seen.insert(name).inserted else { throw fail("duplicate entry \(quoted(name)) in header") }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw fail("__metadata__ is not an object") }
                var table: [String: String] = [:]
                for (key, item) in pairs {
                    guard case .string(let text) = item else {
                        throw fail("__metadata__ value for \(quoted(key)) is not a string")
                    }
                    guard table.updateValue(text, forKey: key) == nil else {
                        throw fail("duplicate key \(quoted(key)) in __metadata__")
                    }
                }
                metadata = table
                continue
            }
            let tensor = "tensor \(quoted(name))"
            guard case .object(let fields) = value else { throw fail("\(tensor): entry is not an object") }
            var dtypeValue: JSON?, shapeValue: JSON?, offsetsValue: JSON?
            for (key, field) in fields {
                switch key {
                case "dtype" where dtypeValue == nil: dtypeValue = field
                case "shape" where shapeValue == nil: shapeValue = field
                case "data_offsets" where offsetsValue == nil: offsetsValue = field
                case "dtype", "shape", "data_offsets": throw fail("\(tensor): duplicate key \(quoted(key))")
                default: throw fail("\(tensor): unexpected key \(quoted(key))")
                }
            }
            guard case .string(let dtypeName)? = dtypeValue else { throw fail("\(tensor): dtype missing or not a string") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("\(tensor): unsupported dtype \(quoted(dtypeName)) (expected F32, F64, I64 or U8)")
            }
            guard case .array(let shapeItems)? = shapeValue else { throw fail("\(tensor): shape missing or not an array") }
            let shape = try shapeItems.map { item -> Int in
                guard let n = item.nonNegativeInt else {
                    throw fail("\(tensor): shape entry \(item.brief) is not a non-negative integer below 2^63")
                }
                return n
            }
            guard case .array(let offsetItems)? = offsetsValue, offsetItems.count == 2 else {
                throw fail("\(tensor): data_offsets missing or not an array of two integers")
            }
            guard let begin = offsetItems[0].nonNegativeInt, let end = offsetItems[1].nonNegativeInt else {
                throw fail("\(tensor): data_offsets \(offsetItems.map(\.brief)) are not non-negative integers below 2^63")
            }
            guard begin <= end else { throw fail("\(tensor): data_offsets [\(begin), \(end)] run backwards") }
            guard end <= dataLength else {
                throw fail("\(tensor): data_offsets [\(begin), \(end)] exceed the \(dataLength)-byte data section (truncated?)")
            }
            var byteCount = dtype.size
            for n in shape {
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: n)
                guard !overflow else { throw fail("\(tensor): shape \(shape) overflows") }
                byteCount = product
            }
            guard byteCount == end - begin else {
                throw fail("\(tensor): shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            infos.append((name, dtype, shape, begin, end))
        }

        // The data section must be exactly tiled by the tensors, in offset order.
        let byOffset = infos.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for info in byOffset {
            if info.begin < covered { throw fail("tensor \(quoted(info.name)) overlaps the previous tensor's data") }
            if info.begin > covered { throw fail("gap in the data section before tensor \(quoted(info.name)) (bytes \(covered)..<\(info.begin))") }
            covered = info.end
        }
        guard covered == dataLength else {
            throw fail("\(dataLength - covered) bytes at the end of the data section belong to no tensor")
        }

        var tensors: [String: Tensor] = [:]
        for info in infos {
            let data = Array(bytes[(dataStart + info.begin)..<(dataStart + info.end)])
            tensors[info.name] = Tensor(name: info.name, dtype: info.dtype, shape: info.shape, bytes: data)
        }
        return (tensors, metadata ?? [:])
    }

    /// A name as it appears in messages: JSON-quoted (so control characters stay visible) and cut
    /// short, so a hostile header cannot make an error line huge.
    static func quoted(_ text: String) -> String {
        let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
        return jsonString(shown)
    }

    /// JSON string literal: escapes quote, backslash and control characters; other text stays UTF-8.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension SafeTensors.Tensor {
    /// Values as Float; UserError if dtype is not F32.
    public func floats() throws -> [Float] {
        guard dtype == .f32 else { throw UserError("tensor \(SafeTensors.quoted(name)): dtype \(dtype.rawValue), expected F32") }
        let count = bytes.count / 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            initialized = count
        }
    }
}

// MARK: - JSON

/// A parsed JSON value. Objects keep their pairs in order and with duplicates, so the caller can
/// reject duplicates; numbers keep their text, so the caller decides what an integer is.
enum JSON {
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The value as an Int if it is a plain non-negative integer literal that fits.
    var nonNegativeInt: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)  // nil on overflow
    }

    /// A short rendering for error messages.
    var brief: String {
        switch self {
        case .object: return "{…}"
        case .array: return "[…]"
        case .string(let s): return SafeTensors.quoted(s)
        case .number(let n): return n.count > 40 ? String(n.prefix(40)) + "…" : n
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }
}

/// RFC 8259 JSON over a byte buffer, with nesting limited to `maximumDepth` (a safetensors header
/// needs 3: header, entry, shape), so a hostile header can neither overflow the stack nor build a
/// deep tree, and arrays limited to `maximumArrayLength` items (a header's arrays are shapes and
/// offset pairs), so "[0,0,0,…]" cannot turn 2 bytes of file into 24+ bytes of tree per item.
/// Whitespace may follow the value (the header is space-padded).
struct JSONParser {
    struct Failure: Error {
        let reason: String
        let offset: Int
    }

    static let maximumDepth = 4
    static let maximumArrayLength = 1024
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func parseDocument() throws -> JSON {
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the value") }
        return value
    }

    private func failure(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { position += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard current == c else {
            throw failure(current == nil ? "unexpected end" : "expected '\(Character(Unicode.Scalar(c)))'")
        }
        position += 1
    }

    private mutating func parseValue(depth: Int) throws -> JSON {
        skipWhitespace()
        guard let c = current else { throw failure("unexpected end") }
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < JSONParser.maximumDepth else {
                throw failure("nesting deeper than \(JSONParser.maximumDepth) levels")
            }
            return c == UInt8(ascii: "{") ? try parseObject(depth: depth + 1) : try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let utf8 = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for c in utf8 { try expect(c) }
    }

    private mutating func parseObject(depth: Int) throws -> JSON {
        try expect(UInt8(ascii: "{"))
        var pairs: [(String, JSON)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            pairs.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(pairs)
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSON {
        try expect(UInt8(ascii: "["))
        var items: [JSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            guard items.count < JSONParser.maximumArrayLength else {
                throw failure("array longer than \(JSONParser.maximumArrayLength) items")
            }
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(items)
        }
    }

    /// Number grammar checked strictly; the text is kept for the caller to interpret.
    private mutating func parseNumber() throws -> String {
        let start = position
        func digits() -> Int {
            let from = position
            while let c = current, c >= 0x30 && c <= 0x39 { position += 1 }
            return position - from
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits() == 0 {
            throw failure("malformed number")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw failure("malformed number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw failure("malformed number") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// A string literal: escapes decoded, raw control characters and invalid UTF-8 rejected.
    private mutating func parseString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw failure("unterminated string") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw failure("string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                guard let e = current else { throw failure("unterminated string") }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800..<0xdc00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        guard current == UInt8(ascii: "\\") else { throw failure("unpaired surrogate") }
                        position += 1
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw failure("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw failure("unpaired surrogate") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw failure("invalid escape")
                }
            case 0..<0x20: throw failure("control character in string")
            default: out.append(c)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw failure("unterminated string") }
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
