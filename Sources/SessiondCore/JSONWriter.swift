import Model
import Wire

/// A small JSON writer over a byte buffer: no Foundation, no intermediate values. Commas are placed
/// automatically; the caller keeps objects and arrays balanced.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func value(_ text: String) { separate(); writeString(text); needsComma = true }
    public mutating func value(_ number: Int64) { separate(); writeInteger(number); needsComma = true }
    public mutating func value(_ number: Int) { value(Int64(number)) }
    public mutating func value(_ flag: Bool) { separate(); append(flag ? "true" : "false"); needsComma = true }
    public mutating func null() { separate(); append("null"); needsComma = true }

    /// Non-finite numbers have no JSON form and are written as null.
    public mutating func value(_ number: Double) {
        guard number.isFinite else { null(); return }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            value(Int64(number))
        } else {
            separate()
            append(number.description)
            needsComma = true
        }
    }

    public mutating func field(_ name: String, _ text: String?) { key(name); if let text { value(text) } else { null() } }
    public mutating func field(_ name: String, _ number: Int64?) { key(name); if let number { value(number) } else { null() } }
    public mutating func field(_ name: String, _ number: Int) { key(name); value(number) }
    public mutating func field(_ name: String, _ number: Double) { key(name); value(number) }
    public mutating func field(_ name: String, _ flag: Bool?) { key(name); if let flag { value(flag) } else { null() } }

    /// Appends text that is already valid JSON (a nested document built by another writer).
    public mutating func raw(_ json: [UInt8]) { separate(); bytes.append(contentsOf: json); needsComma = true }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func append(_ ascii: String) {
        bytes.append(contentsOf: ascii.utf8)
    }

    private mutating func writeInteger(_ n: Int64) {
        if n == 0 { bytes.append(UInt8(ascii: "0")); return }
        // Magnitude as UInt64 so Int64.min does not overflow.
        var m = n < 0 ? UInt64(bitPattern: 0 &- n) : UInt64(n)
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            while m > 0 {
                buf[count] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                count += 1
            }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buf[i]) }
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                switch b {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                default:
                    append("\\u00")
                    bytes.append(Self.hex[Int(b >> 4)])
                    bytes.append(Self.hex[Int(b & 0xF)])
                }
                start = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    /// `"name": {"k": number, ...}` (timings).
    public mutating func field(_ name: String, numbers pairs: [(String, Double)]) {
        key(name)
        beginObject()
        for (k, v) in pairs { field(k, v) }
        endObject()
    }

    /// `"name": {"k": value, ...}` with props as their JSON strings, numbers and booleans.
    public mutating func field(_ name: String, props: [(String, PropValue)]) {
        key(name)
        beginObject()
        for (k, v) in props {
            key(k)
            switch v {
            case .string(let s): value(s)
            case .number(let n): value(n)
            case .bool(let b): value(b)
            }
        }
        endObject()
    }
}
