/// What a JSON document can be at a position: the six kinds of RFC 8259 values.
public enum JSONKind: Sendable, Hashable, CustomStringConvertible {
    case object, array, string, number, bool, null

    public var description: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// A JSON document that breaks RFC 8259 (or a limit of the reader), with the byte offset of the
/// problem counted from the first byte of the input.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: Reason

    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The input ends where `expected` should follow.
        case unexpectedEnd(expected: String)
        /// `found` stands where `expected` should be.
        case unexpectedByte(UInt8, expected: String)
        /// A value of the wrong kind for what the caller asked.
        case typeMismatch(expected: JSONKind, found: JSONKind)
        /// A misspelt `true`, `false` or `null`.
        case invalidLiteral
        /// The number breaks the RFC 8259 grammar; the detail says how.
        case invalidNumber(String)
        /// A number with a fraction or exponent where an integer is required.
        case notAnInteger
        /// The number does not fit the type asked for (Int64, finite Double).
        case numberOutOfRange(String)
        /// A backslash followed by something other than `" \ / b f n r t u`.
        case invalidEscape(UInt8)
        /// `\u` not followed by four hexadecimal digits.
        case invalidUnicodeEscape
        /// A `\uD800`–`\uDFFF` escape that is not half of a high+low pair.
        case loneSurrogate(UInt16)
        /// A raw control character (below 0x20) inside a string: it must be escaped.
        case controlCharacterInString(UInt8)
        /// Bytes that are not well-formed UTF-8 (overlong, surrogate, above U+10FFFF, truncated).
        case invalidUTF8
        /// Objects and arrays nest deeper than the reader's limit.
        case tooDeep(limit: Int)
        /// An object names the same key twice (when the caller rejects duplicates).
        case duplicateKey(String)
        /// Something other than whitespace follows the top-level value.
        case trailingData
        /// The input starts with a UTF-8 byte order mark, which RFC 8259 forbids senders to add.
        case byteOrderMark

        public var description: String {
            switch self {
            case .unexpectedEnd(let expected):
                "unexpected end of input, expected \(expected)"
            case .unexpectedByte(let byte, let expected):
                "expected \(expected), found \(JSONError.render(byte))"
            case .typeMismatch(let expected, let found):
                "expected \(expected), found \(found)"
            case .invalidLiteral:
                "invalid literal (only true, false and null are allowed)"
            case .invalidNumber(let detail):
                "invalid number: \(detail)"
            case .notAnInteger:
                "expected an integer, found a number with a fraction or exponent"
            case .numberOutOfRange(let detail):
                "number out of range: \(detail)"
            case .invalidEscape(let byte):
                "invalid escape \\\(JSONError.renderBare(byte)) (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
            case .invalidUnicodeEscape:
                "\\u must be followed by four hexadecimal digits"
            case .loneSurrogate(let unit):
                "lone UTF-16 surrogate \\u\(JSONError.hex4(unit)) (a high surrogate must be followed by a low one)"
            case .controlCharacterInString(let byte):
                "control character 0x\(JSONError.hex2(byte)) in a string must be escaped"
            case .invalidUTF8:
                "invalid UTF-8"
            case .tooDeep(let limit):
                "objects and arrays nest deeper than the limit of \(limit)"
            case .duplicateKey(let key):
                "duplicate key \"\(key)\""
            case .trailingData:
                "unexpected data after the JSON value"
            case .byteOrderMark:
                "byte order mark at the start of the input is not allowed"
            }
        }
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }

    static func render(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(hex2(byte))"
    }

    static func renderBare(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return String(Character(Unicode.Scalar(byte))) }
        return "<0x\(hex2(byte))>"
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits: [Character] = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    static func hex4(_ unit: UInt16) -> String {
        hex2(UInt8(truncatingIfNeeded: unit >> 8)) + hex2(UInt8(truncatingIfNeeded: unit))
    }
}
