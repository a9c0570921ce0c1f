// Byte cursors. Reading never traps on short or hostile input: every read checks the bytes
// left first and reports a `WireError` naming the field (the NIO `readInteger` idea, with
// typed errors instead of nil so the peer learns which field was wrong).
import System

/// Appends big-endian integers, varints and strings to a growing byte array.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { bytes.count }

    @inlinable public mutating func uint8(_ value: UInt8) { bytes.append(value) }

    @inlinable public mutating func uint16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable public mutating func uint32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable public mutating func uint64(_ value: UInt64) {
        uint32(UInt32(truncatingIfNeeded: value >> 32))
        uint32(UInt32(truncatingIfNeeded: value))
    }

    /// Unsigned LEB128: seven bits per byte, low bits first, high bit set on all but the last.
    @inlinable public mutating func uvarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: rest))
    }

    /// Signed values as zigzag (0, -1, 1, -2 ... map to 0, 1, 2, 3 ...) then uvarint.
    @inlinable public mutating func svarint(_ value: Int64) {
        uvarint(zigzag(value))
    }

    @inlinable public mutating func float64(_ value: Double) { uint64(value.bitPattern) }

    /// uvarint byte count, then the UTF-8 bytes.
    @inlinable public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            uvarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    @inlinable public mutating func append(_ other: some Collection<UInt8>) {
        bytes.append(contentsOf: other)
    }
}

@inlinable func zigzag(_ value: Int64) -> UInt64 {
    UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
}

@inlinable func unzigzag(_ value: UInt64) -> Int64 {
    Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
}

/// Reads a byte region front to back. Valid only while the memory it views is alive: decoders
/// create one inside `withUnsafeBytes` and never let it escape.
public struct ByteReader {
    @usableFromInline let base: UnsafeRawBufferPointer
    @usableFromInline var position: Int

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes
        position = 0
    }

    @inlinable public var remaining: Int { base.count &- position }
    @inlinable public var offset: Int { position }
    @inlinable public var isAtEnd: Bool { position >= base.count }

    @inlinable func short(_ field: StaticString, _ wanted: Int) -> WireError {
        .malformedField(name: "\(field)", reason: "needs \(wanted) bytes, \(remaining) left")
    }

    @inlinable public mutating func uint8(_ field: StaticString) throws(WireError) -> UInt8 {
        guard position < base.count else { throw short(field, 1) }
        let value = base[position]
        position &+= 1
        return value
    }

    @inlinable public mutating func uint16(_ field: StaticString) throws(WireError) -> UInt16 {
        guard remaining >= 2 else { throw short(field, 2) }
        let value = UInt16(base[position]) << 8 | UInt16(base[position &+ 1])
        position &+= 2
        return value
    }

    @inlinable public mutating func uint32(_ field: StaticString) throws(WireError) -> UInt32 {
        guard remaining >= 4 else { throw short(field, 4) }
        var value: UInt32 = 0
        for index in position..<(position &+ 4) { value = value << 8 | UInt32(base[index]) }
        position &+= 4
        return value
    }

    @inlinable public mutating func uint64(_ field: StaticString) throws(WireError) -> UInt64 {
        guard remaining >= 8 else { throw short(field, 8) }
        var value: UInt64 = 0
        for index in position..<(position &+ 8) { value = value << 8 | UInt64(base[index]) }
        position &+= 8
        return value
    }

    @inlinable public mutating func float64(_ field: StaticString) throws(WireError) -> Double {
        Double(bitPattern: try uint64(field))
    }

    /// At most ten bytes; the tenth may only carry the single top bit of a UInt64.
    @inlinable public mutating func uvarint(_ field: StaticString) throws(WireError) -> UInt64 {
        guard position < base.count else { throw short(field, 1) }
        let first = base[position]
        if first < 0x80 {
            position &+= 1
            return UInt64(first)
        }
        return try uvarintSlow(field)
    }

    @usableFromInline mutating func uvarintSlow(_ field: StaticString) throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = position
        while true {
            guard index < base.count else {
                throw .malformedField(name: "\(field)", reason: "varint runs past the end of the payload")
            }
            let byte = base[index]
            index &+= 1
            if shift == 63 && byte > 1 {
                throw .malformedField(name: "\(field)", reason: "varint overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift &+= 7
        }
        position = index
        return value
    }

    @inlinable public mutating func svarint(_ field: StaticString) throws(WireError) -> Int64 {
        unzigzag(try uvarint(field))
    }

    /// A uvarint that must fit the given unsigned type.
    @inlinable public mutating func uvarint<T: FixedWidthInteger & UnsignedInteger>(
        _ field: StaticString, as type: T.Type
    ) throws(WireError) -> T {
        let value = try uvarint(field)
        guard let narrowed = T(exactly: value) else {
            throw .malformedField(name: "\(field)", reason: "\(value) does not fit \(T.bitWidth) bits")
        }
        return narrowed
    }

    /// A length or count: a uvarint that must not exceed the bytes left, since each element
    /// takes at least `minimumElementSize` bytes. Bounds every allocation by the payload size.
    @inlinable public mutating func count(_ field: StaticString, minimumElementSize: Int = 1) throws(WireError) -> Int {
        let value = try uvarint(field)
        guard let count = Int(exactly: value),
              count.multipliedReportingOverflow(by: minimumElementSize).partialValue <= remaining,
              !count.multipliedReportingOverflow(by: minimumElementSize).overflow else {
            throw .malformedField(name: "\(field)", reason: "count \(value) exceeds the \(remaining) bytes left")
        }
        return count
    }

    @inlinable public mutating func bytes(_ field: StaticString, count: Int) throws(WireError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw short(field, count) }
        let slice = UnsafeRawBufferPointer(rebasing: base[position..<(position &+ count)])
        position &+= count
        return slice
    }

    /// A uvarint length, then that many bytes of valid UTF-8.
    @inlinable public mutating func string(_ field: StaticString) throws(WireError) -> String {
        let length = try count(field)
        let raw = try bytes(field, count: length)
        let utf8 = raw.assumingMemoryBound(to: UInt8.self)
        // The stdlib's String(validating:) goes through generic code that looks up type
        // metadata on every call; validating here and then decoding (which cannot repair
        // anything any more) is several times faster on short strings.
        guard isValidUTF8(utf8) else {
            throw .malformedField(name: "\(field)", reason: "not valid UTF-8")
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    @inlinable public mutating func bool(_ field: StaticString) throws(WireError) -> Bool {
        switch try uint8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .malformedField(name: "\(field)", reason: "boolean byte \(other) is neither 0 nor 1")
        }
    }
}

/// `Array.withUnsafeBytes` rethrows untyped errors; this keeps `WireError` typed.
@inlinable func withBytes<T>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WireError) -> T
) throws(WireError) -> T {
    let result: Result<T, WireError> = array.withUnsafeBytes { raw in
        do throws(WireError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
