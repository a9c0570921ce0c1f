import Model
import Wire

/// The compact encoding of an event's optional fields (the `body` column of `events`).
/// Layout: a presence bitmap (varint), then each present field in bitmap order; strings are
/// varint length + UTF-8, integers zig-zag varints, doubles 8 bytes little-endian.
/// `id`, `type`, `ts` and `duration` live in their own columns and are not repeated here.
/// Public so the raw-SQLite reference of the store benchmarks writes rows of the same width.
public enum EventCodec {
    private enum Bit {
        static let name: UInt64 = 1 << 0
        static let url: UInt64 = 1 << 1
        static let parent: UInt64 = 1 << 2
        static let status: UInt64 = 1 << 3
        static let method: UInt64 = 1 << 4
        static let message: UInt64 = 1 << 5
        static let stack: UInt64 = 1 << 6
        static let fatalTrue: UInt64 = 1 << 7
        static let fatalFalse: UInt64 = 1 << 8
        static let timing: UInt64 = 1 << 9
        static let props: UInt64 = 1 << 10
        static let known: UInt64 = (1 << 11) - 1
    }

    public static func encode(_ event: Event, into out: inout [UInt8]) {
        var bits: UInt64 = 0
        if event.name != nil { bits |= Bit.name }
        if event.url != nil { bits |= Bit.url }
        if event.parent != nil { bits |= Bit.parent }
        if event.status != nil { bits |= Bit.status }
        if event.method != nil { bits |= Bit.method }
        if event.message != nil { bits |= Bit.message }
        if event.stack != nil { bits |= Bit.stack }
        if let fatal = event.fatal { bits |= fatal ? Bit.fatalTrue : Bit.fatalFalse }
        if !event.timing.isEmpty { bits |= Bit.timing }
        if !event.props.isEmpty { bits |= Bit.props }
        putVarint(bits, &out)
        if let name = event.name { putString(name, &out) }
        if let url = event.url { putString(url, &out) }
        if let parent = event.parent { putString(parent, &out) }
        if let status = event.status { putSigned(Int64(status), &out) }
        if let method = event.method { putString(method, &out) }
        if let message = event.message { putString(message, &out) }
        if let stack = event.stack { putString(stack, &out) }
        if !event.timing.isEmpty {
            putVarint(UInt64(event.timing.count), &out)
            for (key, value) in event.timing {
                putString(key, &out)
                putDouble(value, &out)
            }
        }
        if !event.props.isEmpty {
            putVarint(UInt64(event.props.count), &out)
            for (key, value) in event.props {
                putString(key, &out)
                switch value {
                case .string(let text):
                    out.append(0)
                    putString(text, &out)
                case .number(let number):
                    out.append(1)
                    putDouble(number, &out)
                case .bool(let flag):
                    out.append(flag ? 3 : 2)
                }
            }
        }
    }

    /// Fills the optional fields of `event` from `bytes`; a damaged body throws, never traps.
    static func decode(_ bytes: UnsafeRawBufferPointer, into event: inout Event) throws(StoreError) {
        var reader = Reader(bytes: bytes)
        let bits = try reader.varint()
        guard bits & ~Bit.known == 0 else { throw .corruptRow("event \(event.id): unknown body fields \(bits)") }
        if bits & Bit.name != 0 { event.name = try reader.string() }
        if bits & Bit.url != 0 { event.url = try reader.string() }
        if bits & Bit.parent != 0 { event.parent = try reader.string() }
        if bits & Bit.status != 0 {
            guard let status = Int32(exactly: try reader.signed()) else {
                throw .corruptRow("event \(event.id): status out of range")
            }
            event.status = status
        }
        if bits & Bit.method != 0 { event.method = try reader.string() }
        if bits & Bit.message != 0 { event.message = try reader.string() }
        if bits & Bit.stack != 0 { event.stack = try reader.string() }
        if bits & Bit.fatalTrue != 0 { event.fatal = true } else if bits & Bit.fatalFalse != 0 { event.fatal = false }
        if bits & Bit.timing != 0 {
            let count = try reader.count()
            event.timing.reserveCapacity(count)
            for _ in 0..<count {
                let key = try reader.string()
                event.timing.append((key, try reader.double()))
            }
        }
        if bits & Bit.props != 0 {
            let count = try reader.count()
            event.props.reserveCapacity(count)
            for _ in 0..<count {
                let key = try reader.string()
                switch try reader.byte() {
                case 0: event.props.append((key, .string(try reader.string())))
                case 1: event.props.append((key, .number(try reader.double())))
                case 2: event.props.append((key, .bool(false)))
                case 3: event.props.append((key, .bool(true)))
                case let tag: throw .corruptRow("event \(event.id): unknown prop tag \(tag)")
                }
            }
        }
        guard reader.offset == bytes.count else { throw .corruptRow("event \(event.id): trailing bytes in body") }
    }

    static func putVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    static func putSigned(_ value: Int64, _ out: inout [UInt8]) {
        putVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), &out)
    }

    static func putString(_ value: String, _ out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            putVarint(UInt64(bytes.count), &out)
            out.append(contentsOf: bytes)
        }
    }

    static func putDouble(_ value: Double, _ out: inout [UInt8]) {
        var bits = value.bitPattern
        for _ in 0..<8 {
            out.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    /// A bounds-checked cursor: every read either succeeds or throws `corruptRow`.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func byte() throws(StoreError) -> UInt8 {
            guard offset < bytes.count else { throw .corruptRow("truncated body") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() throws(StoreError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let next = try byte()
                guard shift < 64 else { throw .corruptRow("varint too long") }
                result |= UInt64(next & 0x7f) << shift
                if next & 0x80 == 0 { return result }
                shift += 7
            }
        }

        mutating func signed() throws(StoreError) -> Int64 {
            let raw = try varint()
            return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
        }

        mutating func count() throws(StoreError) -> Int {
            let raw = try varint()
            // Each element takes at least one byte, so a count beyond what is left is damage.
            guard raw <= UInt64(bytes.count - offset) else { throw .corruptRow("count \(raw) exceeds body") }
            return Int(raw)
        }

        mutating func string() throws(StoreError) -> String {
            let length = try count()
            let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            offset += length
            return String(decoding: slice, as: UTF8.self)
        }

        mutating func double() throws(StoreError) -> Double {
            guard bytes.count - offset >= 8 else { throw .corruptRow("truncated double") }
            var bits: UInt64 = 0
            for index in 0..<8 { bits |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += 8
            return Double(bitPattern: bits)
        }
    }
}
