/// Writing JSON: the one writer of the project, for metrics lines, `eval` and `bench --json`
/// output, safetensors headers and the model file's metadata.
///
/// Not JSONEncoder, because what it writes needs a key order of its own (a safetensors entry
/// reads dtype, shape, data_offsets; a metrics line starts with the step) and JSONEncoder knows
/// only sorted or arbitrary order. Strings are escaped as JSONEncoder escapes them (`\"`, `\\`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`, `/` as `\/` on request),
/// and numbers keep the text their caller chose, so files written before this writer existed
/// keep their bytes. The output is always valid JSON: a number that is not finite is `null`, and
/// so is any `.number` text that is not an RFC 8259 number ("nan", "inf", "-nan" of a Float or
/// Double interpolated by hand), checked as it is written.
extension JSON {
    public static func number(_ value: Int) -> JSON { .number(String(value)) }

    /// Swift's shortest round-trip form ("0.25", "1e-08", "2.0"); `null` for an infinity or NaN,
    /// which JSON cannot hold.
    public static func number(_ value: Double) -> JSON { value.isFinite ? .number("\(value)") : .null }

    /// A Double as JSONEncoder spells it: as `number`, but a whole value without ".0" (0 for 0.0).
    static func encoderNumber(_ value: Double) -> JSON {
        guard case .number(var text) = number(value) else { return .null }
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    /// The stored properties of a plain struct as an object, as JSONEncoder with sorted keys
    /// wrote a synthesised `Codable` value (the model file's config, `bench --json`), so that
    /// text stays as it was: property names as keys, sorted; Int, Double (`encoderNumber`), Bool,
    /// String, String-backed enums and arrays of them as values. A property named in `renaming`
    /// is written under the key it maps to.
    public static func fields(of value: Any, renaming: [String: String] = [:]) -> JSON {
        func convert(_ value: Any) -> JSON {
            switch value {
            case let b as Bool: return .bool(b)
            case let i as Int: return .number(i)
            case let d as Double: return encoderNumber(d)
            case let s as String: return .string(s)
            case let items as [Any]: return .array(items.map(convert))
            case let choice as any RawRepresentable where choice.rawValue is String:
                return .string(choice.rawValue as! String)
            default:
                preconditionFailure("JSON.fields: no JSON form for \(type(of: value))")
            }
        }
        let members = Mirror(reflecting: value).children.compactMap { child in
            child.label.map { (renaming[$0] ?? $0, convert(child.value)) }
        }
        return .object(members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) })
    }

    /// How members and items are separated: `{"a":1,"b":[1,2]}` (files other tools read) or
    /// `{"a": 1, "b": [1, 2]}` (metrics lines and `eval`, read by people too).
    public enum Layout: Sendable {
        case compact, spaced
    }

    public func text(_ layout: Layout = .compact, escapingSlashes: Bool = false) -> String {
        var out = ""
        write(to: &out, comma: layout == .compact ? "," : ", ", colon: layout == .compact ? ":" : ": ",
              escapingSlashes: escapingSlashes)
        return out
    }

    private func write(to out: inout String, comma: String, colon: String, escapingSlashes: Bool) {
        switch self {
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += comma }
                out += JSON.quote(key, escapingSlashes: escapingSlashes) + colon
                value.write(to: &out, comma: comma, colon: colon, escapingSlashes: escapingSlashes)
            }
            out += "}"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += comma }
                item.write(to: &out, comma: comma, colon: colon, escapingSlashes: escapingSlashes)
            }
            out += "]"
        case .string(let text): out += JSON.quote(text, escapingSlashes: escapingSlashes)
        case .number(let text): out += JSON.isNumberText(text) ? text : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// True when `text` is a number by RFC 8259's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)?
    /// ([eE] [+-]? [0-9]+)?`.
    static func isNumberText(_ text: String) -> Bool {
        var bytes = text.utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == 0x2D { bytes = bytes.dropFirst() }  // -
        if bytes.first == 0x30 {
            bytes = bytes.dropFirst()
        } else if let first = bytes.first, first >= 0x31, first <= 0x39 {
            _ = digits()
        } else {
            return false
        }
        if bytes.first == 0x2E {  // .
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return false }
        }
        if bytes.first == 0x65 || bytes.first == 0x45 {  // e E
            bytes = bytes.dropFirst()
            if bytes.first == 0x2B || bytes.first == 0x2D { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }

    /// A name as it appears in messages: JSON-quoted (so control characters stay visible) and cut
    /// short, so a hostile file cannot make an error line huge.
    public static func quotedShort(_ text: String) -> String {
        quote(text.count > 80 ? String(text.prefix(80)) + "…" : text)
    }

    /// A JSON string literal of `text`; characters other than those escaped stay as UTF-8.
    public static func quote(_ text: String, escapingSlashes: Bool = false) -> String {
        var out: [UInt8] = [0x22]
        out.reserveCapacity(text.utf8.count + 2)
        for c in text.utf8 {
            switch c {
            case 0x22, 0x5c: out += [0x5c, c]  // \" and \\
            case 0x2f where escapingSlashes: out += [0x5c, c]
            case 0x08: out += [0x5c, UInt8(ascii: "b")]
            case 0x0c: out += [0x5c, UInt8(ascii: "f")]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00\(Hex.encode([c]))".utf8)
            default: out.append(c)
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }
}
