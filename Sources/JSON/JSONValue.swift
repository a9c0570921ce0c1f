/// A whole JSON document as a tree, for configuration and tests (the hot path uses `JSONReader`).
/// Objects keep their keys in document order; numbers keep their text.
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// What to do when an object names a key twice.
    public enum DuplicateKeys: Sendable {
        /// Fail with `JSONError.Reason.duplicateKey` at the second occurrence.
        case reject
        /// Keep every pair in order; `subscript(key)` answers the last one.
        case keepAll
    }

    /// Parses a complete document: exactly one value, surrounded only by whitespace.
    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = 64, duplicateKeys: DuplicateKeys = .reject
    ) throws(JSONError) -> JSONValue {
        try JSONReader.withReader(bytes, maxDepth: maxDepth) { (reader) throws(JSONError) -> JSONValue in
            let value = try JSONValue.read(from: &reader, duplicateKeys: duplicateKeys)
            try reader.finish()
            return value
        }
    }

    /// Parses a complete document given as text.
    public static func parse(
        _ text: String, maxDepth: Int = 64, duplicateKeys: DuplicateKeys = .reject
    ) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, duplicateKeys: duplicateKeys)
    }

    /// Reads the next value at the reader's position into a tree.
    public static func read(from reader: inout JSONReader, duplicateKeys: DuplicateKeys = .reject) throws(JSONError) -> JSONValue {
        switch try reader.peekKind() {
        case .object:
            try reader.beginObject()
            var members: [(String, JSONValue)] = []
            // Small objects are checked by scanning; hashing pays off only for larger ones.
            var seen: Set<String> = []
            while let key = try reader.nextKey() {
                let name = key.string
                if duplicateKeys == .reject {
                    let duplicate: Bool
                    if members.count < 16 {
                        duplicate = members.contains(where: { $0.0 == name })
                    } else {
                        if seen.isEmpty { seen = Set(members.map(\.0)) }
                        duplicate = !seen.insert(name).inserted
                    }
                    if duplicate { throw JSONError(offset: key.offset, reason: .duplicateKey(name)) }
                }
                members.append((name, try read(from: &reader, duplicateKeys: duplicateKeys)))
            }
            return .object(members)
        case .array:
            try reader.beginArray()
            var elements: [JSONValue] = []
            while try reader.nextElement() {
                elements.append(try read(from: &reader, duplicateKeys: duplicateKeys))
            }
            return .array(elements)
        case .string:
            return .string(try reader.readString())
        case .number:
            return .number(try reader.readNumber())
        case .bool:
            return .bool(try reader.readBool())
        case .null:
            try reader.readNull()
            return .null
        }
    }

    public var kind: JSONKind {
        switch self {
        case .null: .null
        case .bool: .bool
        case .number: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }

    /// The value of `key` in an object (the last one if the key repeats), else nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.0 == key })?.1
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var int64Value: Int64? { numberValue?.int64Value }

    public var doubleValue: Double? { numberValue?.doubleValue }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.elementsEqual(b, by: { $0.0 == $1.0 && $0.1 == $1.1 })
        default: false
        }
    }

    /// Compact JSON text of the value (keys in order, numbers as written).
    public var description: String {
        var out: [UInt8] = []
        JSONWriter.write(self, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Writes JSON text: compact, strings escaped as RFC 8259 requires.
public enum JSONWriter {
    public static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): writeString(s, to: &out)
        case .array(let elements):
            out.append(0x5B)
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(0x2C) }
                write(element, to: &out)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(0x2C) }
                writeString(member.0, to: &out)
                out.append(0x3A)
                write(member.1, to: &out)
            }
            out.append(0x7D)
        }
    }

    /// Appends `text` as a quoted JSON string: `"` `\` and control characters escaped.
    public static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
