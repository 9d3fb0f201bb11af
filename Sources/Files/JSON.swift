/// A JSON value, parsed or to be written (JSON+Writing.swift). Objects keep their pairs in order
/// and with duplicates, so a reader can reject duplicates and a writer chooses the order; numbers
/// keep their text, so the caller decides what an integer is and how a number is spelt.
public enum JSON: Sendable {
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The value as an Int if it is a plain non-negative integer literal that fits.
    public var nonNegativeInt: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)  // nil on overflow
    }

    /// A short rendering for error messages.
    public var brief: String {
        switch self {
        case .object: return "{…}"
        case .array: return "[…]"
        case .string(let s): return JSON.quotedShort(s)
        case .number(let n): return n.count > 40 ? String(n.prefix(40)) + "…" : n
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }
}

/// RFC 8259 JSON over a byte buffer, for input nobody vouches for.
///
/// Hand-written rather than JSONSerialization or JSONDecoder, because a safetensors header comes
/// from files nobody vouches for and must be read within limits those APIs neither enforce nor
/// report: bounded nesting depth and item counts, no allocation beyond the text's own size, and
/// what they hide from the caller (duplicate keys, integers beyond 2^63, where an error is).
///
/// Two ways to read: `parseDocument` builds a `JSON` tree, for small documents whose shape the
/// caller checks afterwards; the streaming calls (`beginContainer`, `nextMember`, `nextItem`,
/// `parseString`, `skipValue`) let a caller that knows the schema walk the text and keep only what
/// it needs, so a large document never turns into a tree many times its size.
///
/// Limits, so a hostile document can neither overflow the stack nor make us allocate far beyond
/// its own size: containers nest at most `maximumDepth` deep (counting the outermost), and an
/// array or a tree-built object holds at most `maximumItems` entries ("[0,0,0,…]" costs 2 bytes of
/// text but 24+ bytes of tree per item). `skipValue` allocates nothing for containers.
/// Whitespace may follow the value (the safetensors header is space-padded).
public struct JSONParser {
    public struct Failure: Error {
        public let reason: String
        public let offset: Int
    }

    /// Defaults, sized for a safetensors header: header, entry, shape are 3 levels.
    public static let maximumDepth = 4
    public static let maximumArrayLength = 1024

    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    public let maximumItems: Int
    private(set) var position = 0

    public init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = JSONParser.maximumDepth,
         maximumItems: Int = JSONParser.maximumArrayLength) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.maximumItems = maximumItems
    }

    /// The whole text as one value (a tree), followed by nothing but whitespace.
    public mutating func parseDocument() throws -> JSON {
        let value = try parseValue(depth: 0)
        try finish()
        return value
    }

    /// Only whitespace may follow.
    public mutating func finish() throws {
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the value") }
    }

    func failure(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// The first byte of the next value (after whitespace), without consuming it; nil at the end.
    public mutating func peek() -> UInt8? {
        skipWhitespace()
        return current
    }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { position += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard current == c else {
            throw failure(current == nil ? "unexpected end" : "expected '\(Character(Unicode.Scalar(c)))'")
        }
        position += 1
    }

    // MARK: Streaming

    /// Consumes the `{` or `[` that opens a container inside `depth` enclosing ones.
    public mutating func beginContainer(depth: Int) throws {
        skipWhitespace()
        guard let c = current, c == UInt8(ascii: "{") || c == UInt8(ascii: "[") else {
            throw failure(current == nil ? "unexpected end" : "expected '{' or '['")
        }
        guard depth < maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels") }
        position += 1
    }

    /// Inside an object opened by `beginContainer`: the next member's key, with the parser left
    /// at its value (which the caller must consume), or nil after the closing `}`. `count` counts
    /// the members read so far (start at 0); more than `limit` is an error.
    public mutating func nextMember(count: inout Int, limit: Int) throws -> String? {
        guard try continues(closing: UInt8(ascii: "}"), after: count) else { return nil }
        guard count < limit else { throw failure("object with more than \(limit) members") }
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
        let key = try parseString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        count += 1
        return key
    }

    /// Inside an array opened by `beginContainer`: true when an item follows (the caller must
    /// consume it), false after the closing `]`. More than `maximumItems` items is an error.
    public mutating func nextItem(count: inout Int) throws -> Bool {
        guard try continues(closing: UInt8(ascii: "]"), after: count) else { return false }
        guard count < maximumItems else { throw failure("array longer than \(maximumItems) items") }
        count += 1
        return true
    }

    /// Past the separator after `count` items of a container that `close` ends: true when another
    /// item follows, false (with the container consumed) at its end.
    private mutating func continues(closing close: UInt8, after count: Int) throws -> Bool {
        skipWhitespace()
        if count == 0 {
            if current == close { position += 1; return false }
        } else if current == UInt8(ascii: ",") {
            position += 1
        } else {
            try expect(close)
            return false
        }
        return true
    }

    /// Checks the next value (syntax and limits, as `parseValue` would) and drops it; containers
    /// cost no allocation. `depth` counts the containers around it.
    public mutating func skipValue(depth: Int) throws {
        switch peek() {
        case UInt8(ascii: "{"):
            try beginContainer(depth: depth)
            var count = 0
            while try nextMember(count: &count, limit: .max) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try beginContainer(depth: depth)
            var count = 0
            while try nextItem(count: &count) { try skipValue(depth: depth + 1) }
        default:
            _ = try parseValue(depth: depth)  // a scalar: no tree to build
        }
    }

    // MARK: Trees

    /// One value as a tree; `depth` counts the containers around it.
    public mutating func parseValue(depth: Int) throws -> JSON {
        skipWhitespace()
        guard let c = current else { throw failure("unexpected end") }
        switch c {
        case UInt8(ascii: "{"):
            try beginContainer(depth: depth)
            var pairs: [(String, JSON)] = []
            var count = 0
            while let key = try nextMember(count: &count, limit: maximumItems) {
                pairs.append((key, try parseValue(depth: depth + 1)))
            }
            return .object(pairs)
        case UInt8(ascii: "["):
            try beginContainer(depth: depth)
            var items: [JSON] = []
            var count = 0
            while try nextItem(count: &count) { items.append(try parseValue(depth: depth + 1)) }
            return .array(items)
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

    /// A string literal (after whitespace): escapes decoded, raw control characters and invalid
    /// UTF-8 rejected.
    public mutating func parseString() throws -> String {
        skipWhitespace()
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
