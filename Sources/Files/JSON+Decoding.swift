extension JSON {
    /// Decodes `T` from this tree, so a document the bounded parser has read and checked is not
    /// parsed a second time by JSONDecoder. Covers what flat records need: objects of numbers,
    /// booleans, strings and values decoded from a single string (enums). Errors are
    /// `DecodingError`s with the key's coding path, as JSONDecoder's are.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: self, codingPath: []))
    }
}

/// A `Decoder` over one `JSON` value: keyed containers over objects, single values over scalars.
private struct TreeDecoder: Decoder {
    let value: JSON
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let pairs) = value else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: codingPath, debugDescription: "not an object"))
        }
        // The first of duplicate keys wins; readers that care reject duplicates before decoding.
        let members = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        return KeyedDecodingContainer(ObjectContainer(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "arrays are not decoded from a tree"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { ScalarContainer(value: value, codingPath: codingPath) }
}

private struct ObjectContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSON]
    let codingPath: [any CodingKey]
    var allKeys: [Key] { members.keys.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: TreeDecoder(value: member(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { TreeDecoder(value: .object(Array(members)), codingPath: codingPath) }

    func superDecoder(forKey key: Key) throws -> any Decoder { TreeDecoder(value: try member(key), codingPath: codingPath + [key]) }

    private func member(_ key: Key) throws -> JSON {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no member \(key.stringValue)"))
        }
        return value
    }
}

/// Numbers keep their text in the tree, so each numeric type parses it and refuses what does not
/// fit exactly (3.5 as an Int, 300 as a UInt8, a Double beyond Double's range).
private struct ScalarContainer: SingleValueDecodingContainer {
    let value: JSON
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    /// Every `decode(_:)` requirement of the protocol (Bool, String, each float and integer type)
    /// is this one method, specialized.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoded: Any?
        switch (type, value) {
        case (is Bool.Type, .bool(let flag)): decoded = flag
        case (is String.Type, .string(let text)): decoded = text
        case (is Double.Type, .number(let text)): decoded = Double(text).flatMap { $0.isFinite ? $0 : nil }
        case (is Float.Type, .number(let text)): decoded = Float(text).flatMap { $0.isFinite ? $0 : nil }
        case (let integer as any FixedWidthInteger.Type, .number(let text)): decoded = integer.init(text, radix: 10)
        case (is Bool.Type, _), (is String.Type, _), (is Double.Type, _), (is Float.Type, _), (is any FixedWidthInteger.Type, _):
            decoded = nil
        default: return try T(from: TreeDecoder(value: value, codingPath: codingPath))
        }
        guard let decoded = decoded as? T else { throw mismatch(type) }
        return decoded
    }

    private func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "\(value.brief) is not a \(type)"))
    }
}
