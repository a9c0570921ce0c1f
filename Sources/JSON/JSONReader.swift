import System

/// A strict RFC 8259 pull reader over UTF-8 bytes: the caller walks the document value by value.
///
/// It never allocates for structure, keys or plain strings it only compares (`JSONStringRef`),
/// and validates everything it passes over: escapes, surrogate pairs, the number grammar,
/// UTF-8, commas, nesting depth. Errors carry the byte offset of the problem.
///
/// ```swift
/// try reader.beginObject()
/// while let key = try reader.nextKey() {
///     if key == "ts" { ts = try reader.readInt64() } else { try reader.skipValue() }
/// }
/// try reader.finish()
/// ```
///
/// The reader borrows `bytes`: keep them alive while it (and any `JSONStringRef`) is used.
/// Whitespace is only space, tab, line feed and carriage return.
public struct JSONReader {
    public let bytes: UnsafeRawBufferPointer
    /// Byte offset of the next unread byte.
    public var offset: Int { position }
    @usableFromInline var position: Int
    /// Deepest nesting of objects and arrays allowed.
    public let maxDepth: Int
    /// Number of objects and arrays currently open.
    public var depth: Int { level }
    @usableFromInline var level: Int
    /// True right after `{` or `[`: the next member needs no comma.
    @usableFromInline var atContainerStart: Bool

    /// Nesting beyond this is refused whatever the caller asks, so recursive walks stay
    /// well inside a thread's stack.
    public static let depthCeiling = 512

    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) {
        self.bytes = bytes
        self.position = 0
        self.maxDepth = max(1, min(maxDepth, JSONReader.depthCeiling))
        self.level = 0
        self.atContainerStart = false
    }

    /// Runs `body` with a reader over `bytes`.
    public static func withReader<R, E: Error>(
        _ bytes: [UInt8], maxDepth: Int = 64, _ body: (inout JSONReader) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E> = bytes.withUnsafeBytes { raw in
            var reader = JSONReader(raw, maxDepth: maxDepth)
            do throws(E) { return .success(try body(&reader)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Structure

    /// The kind of the next value, without consuming it.
    @inlinable
    public mutating func peekKind() throws(JSONError) -> JSONKind {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "a value")) }
        let byte = bytes[position]
        if let kind = JSONReader.kind(startingWith: byte) { return kind }
        throw valueStartError(byte)
    }

    /// Consumes `{`.
    @inlinable
    public mutating func beginObject() throws(JSONError) {
        try open(0x7B, kind: .object)
    }

    /// Consumes `[`.
    @inlinable
    public mutating func beginArray() throws(JSONError) {
        try open(0x5B, kind: .array)
    }

    /// The next key of the open object, with its `:` consumed, or nil when the object ends
    /// (its `}` is then consumed). Call it again only after reading or skipping the value.
    @inlinable
    public mutating func nextKey() throws(JSONError) -> JSONStringRef? {
        skipWhitespace()
        guard position < bytes.count else {
            throw JSONError(offset: position, reason: .unexpectedEnd(expected: atContainerStart ? "a key or '}'" : "',' or '}'"))
        }
        var byte = bytes[position]
        if byte == 0x7D {
            position &+= 1
            level &-= 1
            atContainerStart = false
            return nil
        }
        if !atContainerStart {
            guard byte == 0x2C else {
                throw JSONError(offset: position, reason: .unexpectedByte(byte, expected: "',' or '}' after an object member"))
            }
            position &+= 1
            skipWhitespace()
            guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "a key")) }
            byte = bytes[position]
            if byte == 0x7D {
                throw JSONError(offset: position, reason: .unexpectedByte(byte, expected: "a key after ',' (no trailing commas)"))
            }
        }
        atContainerStart = false
        guard byte == 0x22 else {
            throw JSONError(offset: position, reason: .unexpectedByte(byte, expected: "a string key"))
        }
        let key = try scanString()
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "':'")) }
        guard bytes[position] == 0x3A else {
            throw JSONError(offset: position, reason: .unexpectedByte(bytes[position], expected: "':' after a key"))
        }
        position &+= 1
        return key
    }

    /// True when the open array has another element (read or skip it next); false when the
    /// array ends (its `]` is then consumed).
    @inlinable
    public mutating func nextElement() throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else {
            throw JSONError(offset: position, reason: .unexpectedEnd(expected: atContainerStart ? "a value or ']'" : "',' or ']'"))
        }
        let byte = bytes[position]
        if byte == 0x5D {
            position &+= 1
            level &-= 1
            atContainerStart = false
            return false
        }
        if atContainerStart {
            atContainerStart = false
            return true
        }
        guard byte == 0x2C else {
            throw JSONError(offset: position, reason: .unexpectedByte(byte, expected: "',' or ']' after an array element"))
        }
        position &+= 1
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "a value")) }
        if bytes[position] == 0x5D {
            throw JSONError(offset: position, reason: .unexpectedByte(0x5D, expected: "a value after ',' (no trailing commas)"))
        }
        return true
    }

    /// Checks that only whitespace follows the top-level value.
    @inlinable
    public mutating func finish() throws(JSONError) {
        skipWhitespace()
        if position < bytes.count { throw JSONError(offset: position, reason: .trailingData) }
    }

    // MARK: Scalars

    /// Reads a string value without building a `String` (compare it, or convert it later).
    @inlinable
    public mutating func readStringRef() throws(JSONError) -> JSONStringRef {
        try expect(0x22, kind: .string)
        return try scanString()
    }

    /// Reads a string value.
    @inlinable
    public mutating func readString() throws(JSONError) -> String {
        try readStringRef().string
    }

    /// Reads an integer written without fraction or exponent that fits in 64 bits.
    @inlinable
    public mutating func readInt64() throws(JSONError) -> Int64 {
        let number = try readNumberSpan()
        guard number.isInteger else { throw JSONError(offset: number.start, reason: .notAnInteger) }
        guard let value = JSONNumberParsing.int64(UnsafeRawBufferPointer(rebasing: bytes[number.start..<number.end])) else {
            throw JSONError(offset: number.start, reason: .numberOutOfRange("integer does not fit in 64 bits"))
        }
        return value
    }

    /// Reads any number as the nearest Double; numbers beyond Double's range are an error.
    @inlinable
    public mutating func readDouble() throws(JSONError) -> Double {
        let number = try readNumberSpan()
        guard let value = JSONNumberParsing.double(UnsafeRawBufferPointer(rebasing: bytes[number.start..<number.end])) else {
            throw JSONError(offset: number.start, reason: .numberOutOfRange("beyond the range of a 64-bit floating point number"))
        }
        return value
    }

    /// Reads a number keeping its exact text.
    public mutating func readNumber() throws(JSONError) -> JSONNumber {
        let number = try readNumberSpan()
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[number.start..<number.end]), as: UTF8.self)
        return JSONNumber(validatedText: text, isInteger: number.isInteger)
    }

    /// Reads `true` or `false`.
    @inlinable
    public mutating func readBool() throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "a boolean")) }
        switch bytes[position] {
        case 0x74:
            try literal("true")
            return true
        case 0x66:
            try literal("false")
            return false
        default:
            throw mismatch(expected: .bool)
        }
    }

    /// Reads `null`.
    @inlinable
    public mutating func readNull() throws(JSONError) {
        try expect(0x6E, kind: .null)
        try literal("null")
    }

    /// Consumes `null` and returns true when the next value is null; otherwise consumes nothing.
    @inlinable
    public mutating func readNullIfPresent() throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == 0x6E else { return false }
        try literal("null")
        return true
    }

    /// Skips the next value, validating it completely.
    public mutating func skipValue() throws(JSONError) {
        switch try peekKind() {
        case .object:
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue() }
        case .string:
            position &+= 1
            try skipStringBody()
        case .number:
            _ = try scanNumber()
        case .bool:
            _ = try readBool()
        case .null:
            try literal("null")
        }
    }

    // MARK: Internals

    @inlinable
    static func kind(startingWith byte: UInt8) -> JSONKind? {
        switch byte {
        case 0x7B: .object
        case 0x5B: .array
        case 0x22: .string
        case 0x2D, 0x30...0x39: .number
        case 0x74, 0x66: .bool
        case 0x6E: .null
        default: nil
        }
    }

    @inlinable
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position &+= 1
            default: return
            }
        }
    }

    @usableFromInline
    func valueStartError(_ byte: UInt8) -> JSONError {
        if position == 0 && byte == 0xEF && bytes.count >= 3 && bytes[1] == 0xBB && bytes[2] == 0xBF {
            return JSONError(offset: 0, reason: .byteOrderMark)
        }
        switch byte {
        case 0x2B: return JSONError(offset: position, reason: .invalidNumber("a number cannot start with '+'"))
        case 0x2E: return JSONError(offset: position, reason: .invalidNumber("a number cannot start with '.'; write 0."))
        case 0x61...0x7A, 0x41...0x5A: return JSONError(offset: position, reason: .invalidLiteral)
        default: return JSONError(offset: position, reason: .unexpectedByte(byte, expected: "a value"))
        }
    }

    @usableFromInline
    func mismatch(expected: JSONKind) -> JSONError {
        let byte = bytes[position]
        guard let found = JSONReader.kind(startingWith: byte) else { return valueStartError(byte) }
        return JSONError(offset: position, reason: .typeMismatch(expected: expected, found: found))
    }

    /// Skips whitespace and checks that the next value starts with `byte` (without consuming it).
    @inlinable
    mutating func expect(_ byte: UInt8, kind: JSONKind) throws(JSONError) {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: kind.description)) }
        guard bytes[position] == byte else { throw mismatch(expected: kind) }
    }

    @inlinable
    mutating func open(_ byte: UInt8, kind: JSONKind) throws(JSONError) {
        try expect(byte, kind: kind)
        guard level < maxDepth else { throw JSONError(offset: position, reason: .tooDeep(limit: maxDepth)) }
        level &+= 1
        position &+= 1
        atContainerStart = true
    }

    @usableFromInline
    mutating func literal(_ word: StaticString) throws(JSONError) {
        let start = position
        let matched = word.withUTF8Buffer { lit -> Bool in
            guard bytes.count &- start >= lit.count else { return false }
            for i in 0..<lit.count where bytes[start &+ i] != lit[i] { return false }
            return true
        }
        guard matched else {
            throw JSONError(offset: start, reason: bytes.count &- start < word.utf8CodeUnitCount
                            && isPrefixOfLiteral(word, from: start)
                            ? .unexpectedEnd(expected: "\(word)") : .invalidLiteral)
        }
        position = start &+ word.utf8CodeUnitCount
    }

    private func isPrefixOfLiteral(_ word: StaticString, from start: Int) -> Bool {
        word.withUTF8Buffer { lit in
            var i = start
            var j = 0
            while i < bytes.count && j < lit.count {
                if bytes[i] != lit[j] { return false }
                i &+= 1
                j &+= 1
            }
            return true
        }
    }

    @usableFromInline
    struct NumberSpan {
        @usableFromInline var start: Int
        @usableFromInline var end: Int
        @usableFromInline var isInteger: Bool
    }

    @usableFromInline
    mutating func readNumberSpan() throws(JSONError) -> NumberSpan {
        skipWhitespace()
        guard position < bytes.count else { throw JSONError(offset: position, reason: .unexpectedEnd(expected: "a number")) }
        let byte = bytes[position]
        guard byte == 0x2D || (byte >= 0x30 && byte <= 0x39) else {
            if byte == 0x2B || byte == 0x2E { throw valueStartError(byte) }
            throw mismatch(expected: .number)
        }
        return try scanNumber()
    }

    /// Validates `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `position`.
    @usableFromInline
    mutating func scanNumber() throws(JSONError) -> NumberSpan {
        let start = position
        let n = bytes.count
        var i = position
        if bytes[i] == 0x2D {
            i &+= 1
            guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd(expected: "a digit after '-'")) }
        }
        let first = bytes[i]
        if first == 0x30 {
            i &+= 1
            if i < n && JSONReader.isDigit(bytes[i]) {
                throw JSONError(offset: i &- 1, reason: .invalidNumber("leading zeros are not allowed"))
            }
        } else if first >= 0x31 && first <= 0x39 {
            i &+= 1
            while i < n && JSONReader.isDigit(bytes[i]) { i &+= 1 }
        } else {
            throw JSONError(offset: i, reason: .invalidNumber("expected a digit, found \(JSONError.render(first))"))
        }
        var isInteger = true
        if i < n && bytes[i] == 0x2E {
            i &+= 1
            guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd(expected: "a digit after '.'")) }
            guard JSONReader.isDigit(bytes[i]) else {
                throw JSONError(offset: i, reason: .invalidNumber("expected a digit after '.', found \(JSONError.render(bytes[i]))"))
            }
            while i < n && JSONReader.isDigit(bytes[i]) { i &+= 1 }
            isInteger = false
        }
        if i < n && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            i &+= 1
            if i < n && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i &+= 1 }
            guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd(expected: "a digit in the exponent")) }
            guard JSONReader.isDigit(bytes[i]) else {
                throw JSONError(offset: i, reason: .invalidNumber("expected a digit in the exponent, found \(JSONError.render(bytes[i]))"))
            }
            while i < n && JSONReader.isDigit(bytes[i]) { i &+= 1 }
            isInteger = false
        }
        position = i
        return NumberSpan(start: start, end: i, isInteger: isInteger)
    }

    @inlinable
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    /// At the opening quote: scans the string, borrowing it when it has no escapes.
    @usableFromInline
    mutating func scanString() throws(JSONError) -> JSONStringRef {
        let quote = position
        let contentStart = quote &+ 1
        var i = contentStart
        let n = bytes.count
        while true {
            i = skipPlainASCII(from: i)
            guard i < n else { break }
            let byte = bytes[i]
            if byte == 0x22 {
                position = i &+ 1
                return JSONStringRef(raw: UnsafeRawBufferPointer(rebasing: bytes[contentStart..<i]), decoded: nil, offset: quote)
            }
            if byte == 0x5C {
                return try decodeEscapedString(quote: quote, plainEnd: i)
            }
            if byte < 0x20 { throw JSONError(offset: i, reason: .controlCharacterInString(byte)) }
            i = try validateUTF8Sequence(at: i)
        }
        throw JSONError(offset: n, reason: .unexpectedEnd(expected: "'\"' to close the string that starts at byte \(quote)"))
    }

    /// After the opening quote: validates the string and moves past it, building nothing.
    private mutating func skipStringBody() throws(JSONError) {
        let quote = position &- 1
        var i = position
        let n = bytes.count
        while true {
            i = skipPlainASCII(from: i)
            guard i < n else { break }
            let byte = bytes[i]
            if byte == 0x22 {
                position = i &+ 1
                return
            }
            if byte == 0x5C {
                i = try decodeEscape(at: i) { _ in }
            } else if byte < 0x20 {
                throw JSONError(offset: i, reason: .controlCharacterInString(byte))
            } else {
                i = try validateUTF8Sequence(at: i)
            }
        }
        throw JSONError(offset: n, reason: .unexpectedEnd(expected: "'\"' to close the string that starts at byte \(quote)"))
    }

    private mutating func decodeEscapedString(quote: Int, plainEnd: Int) throws(JSONError) -> JSONStringRef {
        let contentStart = quote &+ 1
        var out: [UInt8] = []
        out.reserveCapacity(plainEnd &- contentStart &+ 32)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[contentStart..<plainEnd]))
        var i = plainEnd
        let n = bytes.count
        while i < n {
            let byte = bytes[i]
            if byte == 0x22 {
                position = i &+ 1
                return JSONStringRef(raw: UnsafeRawBufferPointer(start: nil, count: 0), decoded: out, offset: quote)
            }
            if byte == 0x5C {
                i = try decodeEscape(at: i) { scalar in JSONReader.appendUTF8(scalar, to: &out) }
            } else if byte < 0x20 {
                throw JSONError(offset: i, reason: .controlCharacterInString(byte))
            } else if byte < 0x80 {
                out.append(byte)
                i &+= 1
            } else {
                let end = try validateUTF8Sequence(at: i)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<end]))
                i = end
            }
        }
        throw JSONError(offset: n, reason: .unexpectedEnd(expected: "'\"' to close the string that starts at byte \(quote)"))
    }

    /// Skips bytes that need no attention inside a string: printable ASCII except `"` and `\`.
    /// Eight bytes at a time where it can.
    @inline(__always)
    private func skipPlainASCII(from start: Int) -> Int {
        var i = start
        let n = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while n &- i >= 8 {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            // Classic "has a byte less than n / has a zero byte" tests: exact about whether any
            // byte is below 0x20, equals '"' or a backslash, or is >= 0x80 (the byte loop finds which).
            let below = (word &- ones &* 0x20) & ~word
            let quote = (quotes &- ones) & ~quotes
            let backslash = (backslashes &- ones) & ~backslashes
            if (below | quote | backslash | word) & highs != 0 { break }
            i &+= 8
        }
        while i < n {
            let byte = bytes[i]
            if byte < 0x20 || byte >= 0x80 || byte == 0x22 || byte == 0x5C { return i }
            i &+= 1
        }
        return i
    }

    /// At a backslash: decodes one escape (a surrogate pair counts as one), passes the scalar
    /// to `emit`, returns the position after it.
    private func decodeEscape(at start: Int, _ emit: (UInt32) -> Void) throws(JSONError) -> Int {
        let n = bytes.count
        let i = start &+ 1
        guard i < n else { throw JSONError(offset: i, reason: .unexpectedEnd(expected: "an escape character after '\\'")) }
        switch bytes[i] {
        case 0x22: emit(0x22)
        case 0x5C: emit(0x5C)
        case 0x2F: emit(0x2F)
        case 0x62: emit(0x08)
        case 0x66: emit(0x0C)
        case 0x6E: emit(0x0A)
        case 0x72: emit(0x0D)
        case 0x74: emit(0x09)
        case 0x75:
            let unit = try hex4(at: i &+ 1)
            switch unit {
            case 0xD800...0xDBFF:
                let low = i &+ 5
                guard low &+ 1 < n, bytes[low] == 0x5C, bytes[low &+ 1] == 0x75 else {
                    throw JSONError(offset: start, reason: .loneSurrogate(unit))
                }
                let second = try hex4(at: low &+ 2)
                guard second >= 0xDC00 && second <= 0xDFFF else {
                    throw JSONError(offset: start, reason: .loneSurrogate(unit))
                }
                emit(0x10000 &+ ((UInt32(unit) &- 0xD800) << 10) &+ (UInt32(second) &- 0xDC00))
                return low &+ 6
            case 0xDC00...0xDFFF:
                throw JSONError(offset: start, reason: .loneSurrogate(unit))
            default:
                emit(UInt32(unit))
                return i &+ 5
            }
        default:
            throw JSONError(offset: start, reason: .invalidEscape(bytes[i]))
        }
        return i &+ 1
    }

    private func hex4(at start: Int) throws(JSONError) -> UInt16 {
        guard bytes.count &- start >= 4 else {
            if (start..<bytes.count).allSatisfy({ JSONReader.hexValue(bytes[$0]) != nil }) {
                throw JSONError(offset: bytes.count, reason: .unexpectedEnd(expected: "four hexadecimal digits after \\u"))
            }
            throw JSONError(offset: start &- 2, reason: .invalidUnicodeEscape)
        }
        var value: UInt16 = 0
        for k in 0..<4 {
            guard let digit = JSONReader.hexValue(bytes[start &+ k]) else {
                throw JSONError(offset: start &- 2, reason: .invalidUnicodeEscape)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte &- 0x30
        case 0x41...0x46: byte &- 0x41 &+ 10
        case 0x61...0x66: byte &- 0x61 &+ 10
        default: nil
        }
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(truncatingIfNeeded: scalar))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(truncatingIfNeeded: scalar >> 6))
            out.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(truncatingIfNeeded: scalar >> 12))
            out.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        default:
            out.append(0xF0 | UInt8(truncatingIfNeeded: scalar >> 18))
            out.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 12) & 0x3F))
            out.append(0x80 | UInt8(truncatingIfNeeded: (scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F))
        }
    }

    /// At a byte >= 0x80: checks one well-formed UTF-8 sequence (System's Table 3-7 rule) and
    /// returns the position after it.
    @inline(__always)
    private func validateUTF8Sequence(at start: Int) throws(JSONError) -> Int {
        let base = bytes.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
        guard let length = wellFormedUTF8SequenceLength(base, at: start, count: bytes.count) else {
            throw JSONError(offset: start, reason: .invalidUTF8)
        }
        return start &+ length
    }
}
