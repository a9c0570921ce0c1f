/// A JSON number as written, so that integers beyond Double's 53 bits stay exact.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's text exactly as in the document (already checked against the grammar).
    public let text: String
    /// True when written without fraction or exponent.
    public let isInteger: Bool

    init(validatedText: String, isInteger: Bool) {
        self.text = validatedText
        self.isInteger = isInteger
    }

    /// Parses `text` with the strict RFC 8259 grammar.
    public init(_ text: String) throws(JSONError) {
        self = try JSONReader.withReader(Array(text.utf8)) { (reader) throws(JSONError) -> JSONNumber in
            let number = try reader.readNumber()
            try reader.finish()
            return number
        }
    }

    /// The value when it is an integer that fits in 64 bits.
    public var int64Value: Int64? {
        guard isInteger else { return nil }
        var copy = text
        return copy.withUTF8 { JSONNumberParsing.int64(UnsafeRawBufferPointer($0)) }
    }

    /// The nearest Double, or nil beyond Double's range.
    public var doubleValue: Double? {
        var copy = text
        return copy.withUTF8 { JSONNumberParsing.double(UnsafeRawBufferPointer($0)) }
    }

    public var description: String { text }
}

/// Conversions of number text that the reader has already validated against the grammar.
@usableFromInline
enum JSONNumberParsing {
    /// Exact Int64 of an integer literal, or nil on overflow.
    @usableFromInline
    static func int64(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard !text.isEmpty else { return nil }
        let negative = text[0] == 0x2D
        var i = negative ? 1 : 0
        var value: Int64 = 0
        // Accumulate negatively so that Int64.min is reachable.
        while i < text.count {
            let digit = Int64(text[i] &- 0x30)
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
            i &+= 1
        }
        if negative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    private static let exactPowersOf10: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The correctly rounded Double of a number literal, or nil when it overflows to infinity.
    @usableFromInline
    static func double(_ text: UnsafeRawBufferPointer) -> Double? {
        if let fast = fastDouble(text) { return fast }
        // Rare shapes (many digits, large exponents) go through the standard library's
        // correctly rounded parser.
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    /// Clinger's fast path: a mantissa below 2^53 times an exact power of ten up to 1e22 is
    /// one correctly rounded multiplication or division.
    private static func fastDouble(_ text: UnsafeRawBufferPointer) -> Double? {
        let n = text.count
        var i = 0
        let negative = n > 0 && text[0] == 0x2D
        if negative { i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        while i < n, JSONReader.isDigit(text[i]) {
            if mantissa != 0 || text[i] != 0x30 { digits &+= 1 }
            if digits > 18 { return nil }
            mantissa = mantissa &* 10 &+ UInt64(text[i] &- 0x30)
            i &+= 1
        }
        if i < n && text[i] == 0x2E {
            i &+= 1
            while i < n, JSONReader.isDigit(text[i]) {
                if mantissa != 0 || text[i] != 0x30 { digits &+= 1 }
                if digits > 18 { return nil }
                mantissa = mantissa &* 10 &+ UInt64(text[i] &- 0x30)
                scale &-= 1
                i &+= 1
            }
        }
        if i < n && (text[i] == 0x65 || text[i] == 0x45) {
            i &+= 1
            var expNegative = false
            if i < n && (text[i] == 0x2B || text[i] == 0x2D) {
                expNegative = text[i] == 0x2D
                i &+= 1
            }
            var exponent = 0
            while i < n, JSONReader.isDigit(text[i]) {
                if exponent > 1000 { return nil }
                exponent = exponent &* 10 &+ Int(text[i] &- 0x30)
                i &+= 1
            }
            scale &+= expNegative ? -exponent : exponent
        }
        guard mantissa <= 1 << 53 else { return nil }
        var value = Double(mantissa)
        if mantissa != 0 {
            if scale > 22 || scale < -22 { return nil }
            if scale >= 0 {
                value *= exactPowersOf10[scale]
            } else {
                value /= exactPowersOf10[-scale]
            }
        }
        return negative ? -value : value
    }
}
