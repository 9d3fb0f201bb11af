import Files

/// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N,
/// N bytes of JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
/// ..., "__metadata__": {"key": "string value"}}, then the data. Tensors sorted by name in the
/// header; data in the same order, contiguous, no gaps. Offsets count from the start of the data.
///
/// The header is read by a small strict JSON parser (JSON.swift) rather than JSONSerialization,
/// because the checks need what that API hides: duplicate keys, integers beyond 2^63, nesting
/// depth; and it is read entry by entry, never as a whole tree, so memory stays near the file's size.
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
        encode(tensors.map { t in
            Entry(name: t.name, dtype: t.dtype, shape: t.shape, byteCount: t.bytes.count) { destination in
                t.bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
            }
        }, metadata: metadata)
    }

    /// F32 values still in the caller's memory, valid for the call.
    public struct Float32View {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>

        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                         "tensor \(name): \(values.count) values do not fit shape \(shape)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The same bytes as `encode` of `Tensor.float32` copies, with each value copied once, into
    /// the file: a checkpoint of a large model then needs no second copy of its weights and moments.
    public static func encode(float32 views: [Float32View], metadata: [String: String]) -> [UInt8] {
        encode(views.map { v in
            Entry(name: v.name, dtype: .f32, shape: v.shape, byteCount: v.values.count * 4) { destination in
                #if _endian(little)
                destination.copyMemory(from: UnsafeRawBufferPointer(v.values))
                #else
                for (i, value) in v.values.enumerated() { destination.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                #endif
            }
        }, metadata: metadata)
    }

    /// A tensor to write: its header fields and how to copy its data into the file.
    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let copy: (UnsafeMutableRawBufferPointer) -> Void
    }

    private static func encode(_ tensors: [Entry], metadata: [String: String]) -> [UInt8] {
        let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for i in sorted.indices {
            precondition(sorted[i].name != "__metadata__", "a tensor cannot be named __metadata__")
            precondition(i == 0 || sorted[i - 1].name != sorted[i].name, "duplicate tensor name \(sorted[i].name)")
        }
        var entries: [(String, JSON)] = []
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            entries.append(("__metadata__", .object(keys.map { ($0, .string(metadata[$0]!)) })))
        }
        var offset = 0
        for tensor in sorted {
            let end = offset + tensor.byteCount
            entries.append((tensor.name, .object([("dtype", .string(tensor.dtype.rawValue)),
                                                  ("shape", .array(tensor.shape.map(JSON.number))),
                                                  ("data_offsets", .array([.number(offset), .number(end)]))])))
            offset = end
        }
        var headerBytes = Array(JSON.object(entries).text().utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        let total = 8 + headerBytes.count + offset
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            raw.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self)
            headerBytes.withUnsafeBytes { (raw.baseAddress! + 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var at = 8 + headerBytes.count
            for tensor in sorted {
                tensor.copy(UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + tensor.byteCount)]))
                at += tensor.byteCount
            }
            initialized = total
        }
    }

    /// Parses and checks everything (see `decodeWithMetadata`).
    public static func decode(_ bytes: [UInt8], source: String) throws -> [String: Tensor] {
        try decodeWithMetadata(bytes, source: source).tensors
    }

    /// Parses and checks everything: header length within the file and ≤ 100 MB, valid JSON
    /// (nesting depth ≤ 4, arrays and the metadata ≤ 1024 entries), every entry has a known
    /// dtype, a shape of non-negative ints whose
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
            // The claimed length is the file's first 8 bytes, not quoted: the file may be anyone's.
            throw fail("its header length exceeds the 100 MB limit (corrupt file?)")
        }
        let headerLength = Int(claimed)
        guard headerLength <= bytes.count - 8 else {
            throw fail("truncated: its header length is more than the \(bytes.count - 8) bytes that follow")
        }
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart

        var metadata: [String: String]?
        var infos: [EntryInfo] = []
        do {
            try bytes.withUnsafeBufferPointer { buffer in
                var parser = JSONParser(bytes: UnsafeBufferPointer(rebasing: buffer[8..<dataStart]))
                (metadata, infos) = try readHeader(&parser, dataLength: dataLength, fail: fail)
            }
        } catch let error as JSONParser.Failure {
            throw fail("header is not valid JSON: \(error.reason) at header byte \(error.offset)")
        }

        // The data section must be exactly tiled by the tensors, in offset order.
        let byOffset = infos.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for info in byOffset {
            if info.begin < covered { throw fail("tensor \(JSON.quotedShort(info.name)) overlaps the previous tensor's data") }
            if info.begin > covered { throw fail("gap in the data section before tensor \(JSON.quotedShort(info.name)) (bytes \(covered)..<\(info.begin))") }
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

    typealias EntryInfo = (name: String, dtype: DType, shape: [Int], begin: Int, end: Int)

    /// Walks the header JSON entry by entry, keeping only what each entry describes, so a header
    /// costs little more memory than its own text: no tree of the whole document is built. The
    /// first problem found is reported only after the whole text has been checked as JSON (and
    /// everything after it skipped without being kept), so a syntax error anywhere wins, as it
    /// would if the document were parsed first.
    private static func readHeader(_ parser: inout JSONParser, dataLength: Int, fail: (String) -> UserError) throws
        -> (metadata: [String: String]?, infos: [EntryInfo])
    {
        guard parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue(depth: 0)
            try parser.finish()
            throw fail("header is not a JSON object")
        }
        var metadata: [String: String]?
        var infos: [EntryInfo] = []
        var seen = Set<String>()
        var problem: String?
        try parser.beginContainer(depth: 0)
        var entryCount = 0
        while let name = try parser.nextMember(count: &entryCount, limit: .max) {
            if problem != nil {
                try parser.skipValue(depth: 1)
            } else if !seen.insert(name).inserted {
                try parser.skipValue(depth: 1)
                problem = "duplicate entry \(JSON.quotedShort(name)) in header"
            } else if name == "__metadata__" {
                switch try readMetadata(&parser) {
                case .success(let table): metadata = table
                case .failure(let refused): problem = refused.reason
                }
            } else {
                switch try readEntry(&parser, name: name, dataLength: dataLength) {
                case .success(let info): infos.append(info)
                case .failure(let refused): problem = refused.reason
                }
            }
        }
        try parser.finish()
        if let problem { throw fail(problem) }
        return (metadata, infos)
    }

    /// Why an entry is refused; the caller prefixes the file.
    private struct Problem: Error { let reason: String }

    /// `{"key": "string value", ...}`, consumed whole whatever it holds.
    private static func readMetadata(_ parser: inout JSONParser) throws -> Result<[String: String], Problem> {
        guard parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue(depth: 1)
            return .failure(Problem(reason: "__metadata__ is not an object"))
        }
        try parser.beginContainer(depth: 1)
        var table: [String: String] = [:]
        var problem: String?
        var count = 0
        while let key = try parser.nextMember(count: &count, limit: parser.maximumItems) {
            if problem != nil {
                try parser.skipValue(depth: 2)
            } else if parser.peek() != UInt8(ascii: "\"") {
                try parser.skipValue(depth: 2)
                problem = "__metadata__ value for \(JSON.quotedShort(key)) is not a string"
            } else if table.updateValue(try parser.parseString(), forKey: key) != nil {
                problem = "duplicate key \(JSON.quotedShort(key)) in __metadata__"
            }
        }
        return problem.map { .failure(Problem(reason: $0)) } ?? .success(table)
    }

    /// One tensor's `{"dtype": …, "shape": […], "data_offsets": [begin, end]}`, consumed whole,
    /// checked against the data section's length.
    private static func readEntry(_ parser: inout JSONParser, name: String, dataLength: Int) throws
        -> Result<EntryInfo, Problem>
    {
        let tensor = "tensor \(JSON.quotedShort(name))"
        func refuse(_ reason: String) -> Result<EntryInfo, Problem> { .failure(Problem(reason: "\(tensor): \(reason)")) }
        guard parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue(depth: 1)
            return refuse("entry is not an object")
        }
        try parser.beginContainer(depth: 1)
        var dtypeValue: JSON?, shapeValue: JSON?, offsetsValue: JSON?
        var problem: String?
        var count = 0
        while let key = try parser.nextMember(count: &count, limit: .max) {
            if problem != nil { try parser.skipValue(depth: 2); continue }
            switch key {
            case "dtype" where dtypeValue == nil: dtypeValue = try scalarOrSkip(&parser, depth: 2)
            case "shape" where shapeValue == nil: shapeValue = try arrayOfScalars(&parser, depth: 2)
            case "data_offsets" where offsetsValue == nil: offsetsValue = try arrayOfScalars(&parser, depth: 2)
            case "dtype", "shape", "data_offsets":
                try parser.skipValue(depth: 2)
                problem = "duplicate key \(JSON.quotedShort(key))"
            default:
                try parser.skipValue(depth: 2)
                problem = "unexpected key \(JSON.quotedShort(key))"
            }
        }
        if let problem { return refuse(problem) }

        guard case .string(let dtypeName)? = dtypeValue else { return refuse("dtype missing or not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            return refuse("unsupported dtype \(JSON.quotedShort(dtypeName)) (expected F32, F64, I64 or U8)")
        }
        guard case .array(let shapeItems)? = shapeValue else { return refuse("shape missing or not an array") }
        var shape: [Int] = []
        for item in shapeItems {
            guard let n = item.nonNegativeInt else {
                return refuse("shape entry \(item.brief) is not a non-negative integer below 2^63")
            }
            shape.append(n)
        }
        guard case .array(let offsetItems)? = offsetsValue, offsetItems.count == 2 else {
            return refuse("data_offsets missing or not an array of two integers")
        }
        guard let begin = offsetItems[0].nonNegativeInt, let end = offsetItems[1].nonNegativeInt else {
            return refuse("data_offsets \(offsetItems.map(\.brief)) are not non-negative integers below 2^63")
        }
        guard begin <= end else { return refuse("data_offsets [\(begin), \(end)] run backwards") }
        guard end <= dataLength else {
            return refuse("data_offsets [\(begin), \(end)] exceed the \(dataLength)-byte data section (truncated?)")
        }
        var byteCount = dtype.size
        for n in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: n)
            guard !overflow else { return refuse("shape \(shape) overflows") }
            byteCount = product
        }
        guard byteCount == end - begin else {
            return refuse("shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return .success((name, dtype, shape, begin, end))
    }

    /// A scalar value as it is; a container is checked, skipped and stands as an empty one (which
    /// is all an error message shows of it).
    private static func scalarOrSkip(_ parser: inout JSONParser, depth: Int) throws -> JSON {
        switch parser.peek() {
        case UInt8(ascii: "{"): try parser.skipValue(depth: depth); return .object([])
        case UInt8(ascii: "["): try parser.skipValue(depth: depth); return .array([])
        default: return try parser.parseValue(depth: depth)
        }
    }

    /// An array of at most `maximumItems` values, each a scalar or a skipped container (as in
    /// `scalarOrSkip`); anything else is skipped and stands as null.
    private static func arrayOfScalars(_ parser: inout JSONParser, depth: Int) throws -> JSON {
        guard parser.peek() == UInt8(ascii: "[") else {
            try parser.skipValue(depth: depth)
            return .null
        }
        try parser.beginContainer(depth: depth)
        var items: [JSON] = []
        var count = 0
        while try parser.nextItem(count: &count) { items.append(try scalarOrSkip(&parser, depth: depth + 1)) }
        return .array(items)
    }

}

extension SafeTensors.Tensor {
    /// Values as Float; UserError if dtype is not F32.
    public func floats() throws -> [Float] {
        guard dtype == .f32 else { throw UserError("tensor \(JSON.quotedShort(name)): dtype \(dtype.rawValue), expected F32") }
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
