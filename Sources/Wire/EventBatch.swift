// EventBatch: the beacons a collector forwards to one sessiond shard, with the batch id that
// makes a retry idempotent. Compact on purpose: varints, timestamps as zigzag deltas from the
// beacon's receivedAt, and a per-batch string table so a URL, prop key or app id repeated
// across events travels (and is decoded into a String) once. Layout: Schemas/wire/EventBatch.json.
import Model

/// The beacons of one batch for one shard.
public struct EventBatch: WireMessage {
    public static let kind = MessageKind.eventBatch
    public static let versions: ClosedRange<UInt16> = 1...1

    public var batchID: BatchID
    public var beacons: [Beacon]

    public init(batchID: BatchID, beacons: [Beacon]) {
        self.batchID = batchID
        self.beacons = beacons
    }

    /// Realistic events take ~90 bytes, beacons ~100 more.
    public var payloadSizeHint: Int { 64 &+ beacons.count &* 128 &+ eventCount &* 112 }

    /// Number of events over all beacons.
    public var eventCount: Int { beacons.reduce(0) { $0 &+ $1.events.count } }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        var table = StringTableWriter()
        writer.batchID(batchID)
        writer.uvarint(UInt64(beacons.count))
        // Indices, not `for beacon in`, so no beacon or event is copied (retained) on the way.
        for index in beacons.indices {
            encode(beacons[index], into: &writer, table: &table)
        }
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        var table = StringTableReader()
        batchID = try reader.batchID()
        let count = try reader.count("EventBatch.beacons", minimumElementSize: BeaconLayout.minimumSize)
        var beacons: [Beacon] = []
        beacons.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            beacons.append(try decodeBeacon(&reader, table: &table))
        }
        self.beacons = beacons
        try reader.taggedFields("EventBatch") { (_, _) throws(WireError) -> Bool in false }
    }
}

// MARK: - String table

/// Each string field of a batch is a reference: 0 = a literal follows (uvarint length + UTF-8)
/// and becomes the next table entry; n > 0 = entry n-1 of the literals so far.
///
/// The writer finds repeats with its own open-addressing table over the literals already in the
/// output (hashing with `Dictionary<String, _>` cost a third of the encoding time). Probing stops
/// after a few slots and writes a literal instead, so crafted colliding strings cannot make
/// encoding quadratic; a repeated literal is legal and only costs bytes.
struct StringTableWriter {
    private var slots = [Int](repeating: -1, count: 1024)
    private var used = 0
    private var literals: [(hash: UInt64, offset: Int, length: Int)] = []

    private static let maxProbes = 8

    mutating func write(_ value: String, into writer: inout ByteWriter) {
        var value = value
        value.withUTF8 { write($0, into: &writer) }
    }

    private mutating func write(_ utf8: UnsafeBufferPointer<UInt8>, into writer: inout ByteWriter) {
        let hash = Self.hash(utf8)
        let mask = slots.count &- 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        var probes = 0
        while probes < Self.maxProbes {
            let entry = slots[slot]
            if entry < 0 { break }
            let literal = literals[entry]
            if literal.hash == hash && literal.length == utf8.count
                && Self.equal(utf8, writer.bytes, at: literal.offset) {
                writer.uvarint(UInt64(entry) &+ 1)
                return
            }
            slot = (slot &+ 1) & mask
            probes &+= 1
        }
        writer.uint8(0)
        writer.uvarint(UInt64(utf8.count))
        literals.append((hash, writer.bytes.count, utf8.count))
        writer.bytes.append(contentsOf: utf8)
        if slots[slot] < 0 {
            slots[slot] = literals.count &- 1
            used &+= 1
            if used &* 2 > slots.count { grow() }
        }
    }

    private mutating func grow() {
        slots = [Int](repeating: -1, count: slots.count &* 2)
        used = 0
        let mask = slots.count &- 1
        for (entry, literal) in literals.enumerated() {
            var slot = Int(truncatingIfNeeded: literal.hash) & mask
            var probes = 0
            while slots[slot] >= 0 && probes < Self.maxProbes {
                slot = (slot &+ 1) & mask
                probes &+= 1
            }
            if slots[slot] < 0 {
                slots[slot] = entry
                used &+= 1
            }
        }
    }

    private static func equal(_ utf8: UnsafeBufferPointer<UInt8>, _ bytes: [UInt8], at offset: Int) -> Bool {
        bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress, let other = utf8.baseAddress else { return utf8.isEmpty }
            let stored = base + offset
            var index = 0
            while utf8.count &- index >= 8 {
                if UnsafeRawPointer(stored + index).loadUnaligned(as: UInt64.self)
                    != UnsafeRawPointer(other + index).loadUnaligned(as: UInt64.self) { return false }
                index &+= 8
            }
            while index < utf8.count {
                if stored[index] != other[index] { return false }
                index &+= 1
            }
            return true
        }
    }

    /// A fast multiply-xor hash over eight bytes at a time; only the encoder's table sees it.
    private static func hash(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(utf8.count)
        guard let base = utf8.baseAddress else { return hash }
        var index = 0
        while utf8.count &- index >= 8 {
            hash = (hash ^ UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            index &+= 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < utf8.count {
            tail |= UInt64(base[index]) << shift
            shift &+= 8
            index &+= 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 29)
    }
}

struct StringTableReader {
    private var strings: [String] = []

    init() { strings.reserveCapacity(256) }

    @inline(__always)
    mutating func read(_ field: StaticString, from reader: inout ByteReader) throws(WireError) -> String {
        let reference = try reader.uvarint(field)
        if reference == 0 {
            let value = try reader.string(field)
            strings.append(value)
            return value
        }
        guard reference <= UInt64(strings.count) else {
            throw .malformedField(name: "\(field)",
                                  reason: "string reference \(reference) but only \(strings.count) strings so far")
        }
        return strings[Int(truncatingIfNeeded: reference &- 1)]
    }
}

// MARK: - Beacon, Device, Event

enum BeaconLayout {
    /// presence, app, platform, visitor, receivedAt, sentAt, event count, tagged fields.
    static let minimumSize = 8
    static let session: UInt64 = 1 << 0
    static let user: UInt64 = 1 << 1
    static let device: UInt64 = 1 << 2
    static let clientAddress: UInt64 = 1 << 3
    static let userAgent: UInt64 = 1 << 4
    static let known: UInt64 = (1 << 5) - 1
}

enum EventLayout {
    /// presence, id, type, ts, timing count, props count, tagged fields.
    static let minimumSize = 7
    static let duration: UInt64 = 1 << 0
    static let name: UInt64 = 1 << 1
    static let url: UInt64 = 1 << 2
    static let parent: UInt64 = 1 << 3
    static let status: UInt64 = 1 << 4
    static let method: UInt64 = 1 << 5
    static let message: UInt64 = 1 << 6
    static let stack: UInt64 = 1 << 7
    static let fatal: UInt64 = 1 << 8
    static let known: UInt64 = (1 << 9) - 1
}

/// Kind byte of a `number` or `propValue`.
enum ValueKind {
    static let integer: UInt8 = 0
    static let float: UInt8 = 1
    static let string: UInt8 = 2
    static let `false`: UInt8 = 3
    static let `true`: UInt8 = 4
}

private func encode(_ beacon: Beacon, into w: inout ByteWriter, table: inout StringTableWriter) {
    var presence: UInt64 = 0
    if beacon.session != nil { presence |= BeaconLayout.session }
    if beacon.user != nil { presence |= BeaconLayout.user }
    if beacon.device != nil { presence |= BeaconLayout.device }
    if beacon.clientAddress != nil { presence |= BeaconLayout.clientAddress }
    if beacon.userAgent != nil { presence |= BeaconLayout.userAgent }
    w.uvarint(presence)
    table.write(beacon.app, into: &w)
    w.uint8(beacon.platform.rawValue)
    table.write(beacon.visitor, into: &w)
    w.svarint(beacon.receivedAt)
    w.svarint(beacon.sentAt &- beacon.receivedAt)
    if let session = beacon.session { table.write(session, into: &w) }
    if let user = beacon.user { table.write(user, into: &w) }
    if let device = beacon.device { encode(device, into: &w, table: &table) }
    if let address = beacon.clientAddress { table.write(address, into: &w) }
    if let agent = beacon.userAgent { table.write(agent, into: &w) }
    w.uvarint(UInt64(beacon.events.count))
    for index in beacon.events.indices {
        encode(beacon.events[index], base: beacon.receivedAt, into: &w, table: &table)
    }
    w.noTaggedFields()
}

private func decodeBeacon(_ r: inout ByteReader, table: inout StringTableReader) throws(WireError) -> Beacon {
    let presence = try r.presence("Beacon.presence", known: BeaconLayout.known)
    let app = try table.read("Beacon.app", from: &r)
    let rawPlatform = try r.uint8("Beacon.platform")
    guard let platform = Platform(rawValue: rawPlatform) else {
        throw .malformedField(name: "Beacon.platform", reason: "unknown platform \(rawPlatform)")
    }
    let visitor = try table.read("Beacon.visitor", from: &r)
    let receivedAt = try r.svarint("Beacon.receivedAt")
    let sentAt = receivedAt &+ (try r.svarint("Beacon.sentAt"))
    let session = presence & BeaconLayout.session != 0 ? try table.read("Beacon.session", from: &r) : nil
    let user = presence & BeaconLayout.user != 0 ? try table.read("Beacon.user", from: &r) : nil
    let device = presence & BeaconLayout.device != 0 ? try decodeDevice(&r, table: &table) : nil
    let address = presence & BeaconLayout.clientAddress != 0 ? try table.read("Beacon.clientAddress", from: &r) : nil
    let agent = presence & BeaconLayout.userAgent != 0 ? try table.read("Beacon.userAgent", from: &r) : nil
    let count = try r.count("Beacon.events", minimumElementSize: EventLayout.minimumSize)
    var events: [Event] = []
    events.reserveCapacity(min(count, 1024))
    for _ in 0..<count {
        events.append(try decodeEvent(&r, base: receivedAt, table: &table))
    }
    try r.taggedFields("Beacon") { (_, _) throws(WireError) -> Bool in false }
    return Beacon(app: app, platform: platform, visitor: visitor, session: session, user: user,
                  device: device, sentAt: sentAt, receivedAt: receivedAt, clientAddress: address,
                  userAgent: agent, events: events)
}

private func encode(_ device: Device, into w: inout ByteWriter, table: inout StringTableWriter) {
    let fields = [device.browser, device.browserVersion, device.os, device.osVersion,
                  device.deviceType, device.screen, device.appVersion]
    var presence: UInt64 = 0
    for (bit, field) in fields.enumerated() where field != nil { presence |= 1 << UInt64(bit) }
    w.uvarint(presence)
    for case let field? in fields { table.write(field, into: &w) }
    w.noTaggedFields()
}

private func decodeDevice(_ r: inout ByteReader, table: inout StringTableReader) throws(WireError) -> Device {
    let presence = try r.presence("Device.presence", known: (1 << 7) - 1)
    func field(_ bit: UInt64, _ name: StaticString, _ r: inout ByteReader,
               _ table: inout StringTableReader) throws(WireError) -> String? {
        presence & (1 << bit) != 0 ? try table.read(name, from: &r) : nil
    }
    let device = Device(browser: try field(0, "Device.browser", &r, &table),
                        browserVersion: try field(1, "Device.browserVersion", &r, &table),
                        os: try field(2, "Device.os", &r, &table),
                        osVersion: try field(3, "Device.osVersion", &r, &table),
                        deviceType: try field(4, "Device.deviceType", &r, &table),
                        screen: try field(5, "Device.screen", &r, &table),
                        appVersion: try field(6, "Device.appVersion", &r, &table))
    try r.taggedFields("Device") { (_, _) throws(WireError) -> Bool in false }
    return device
}

private func encode(_ event: Event, base: Int64, into w: inout ByteWriter, table: inout StringTableWriter) {
    var presence: UInt64 = 0
    if event.duration != nil { presence |= EventLayout.duration }
    if event.name != nil { presence |= EventLayout.name }
    if event.url != nil { presence |= EventLayout.url }
    if event.parent != nil { presence |= EventLayout.parent }
    if event.status != nil { presence |= EventLayout.status }
    if event.method != nil { presence |= EventLayout.method }
    if event.message != nil { presence |= EventLayout.message }
    if event.stack != nil { presence |= EventLayout.stack }
    if event.fatal != nil { presence |= EventLayout.fatal }
    w.uvarint(presence)
    w.string(event.id)
    w.uint8(event.type.rawValue)
    w.svarint(event.ts &- base)
    if let duration = event.duration { w.svarint(duration) }
    if let name = event.name { table.write(name, into: &w) }
    if let url = event.url { table.write(url, into: &w) }
    if let parent = event.parent { table.write(parent, into: &w) }
    if let status = event.status { w.svarint(Int64(status)) }
    if let method = event.method { table.write(method, into: &w) }
    if let message = event.message { table.write(message, into: &w) }
    if let stack = event.stack { table.write(stack, into: &w) }
    if let fatal = event.fatal { w.uint8(fatal ? 1 : 0) }
    w.uvarint(UInt64(event.timing.count))
    for (name, value) in event.timing {
        table.write(name, into: &w)
        w.number(value)
    }
    w.uvarint(UInt64(event.props.count))
    for (name, value) in event.props {
        table.write(name, into: &w)
        switch value {
        case let .number(number): w.number(number)
        case let .string(string):
            w.uint8(ValueKind.string)
            table.write(string, into: &w)
        case let .bool(flag): w.uint8(flag ? ValueKind.true : ValueKind.false)
        }
    }
    w.noTaggedFields()
}

private func decodeEvent(_ r: inout ByteReader, base: Int64, table: inout StringTableReader) throws(WireError) -> Event {
    let presence = try r.presence("Event.presence", known: EventLayout.known)
    let id = try r.string("Event.id")
    let rawType = try r.uint8("Event.type")
    guard let type = EventType(rawValue: rawType) else {
        throw .malformedField(name: "Event.type", reason: "unknown event type \(rawType)")
    }
    let ts = base &+ (try r.svarint("Event.ts"))
    // Fields go to locals and the Event is built once at the end: mutating a `var event`
    // made the compiler copy the whole struct (retaining every field) on return.
    let duration = presence & EventLayout.duration != 0 ? try r.svarint("Event.duration") : nil
    let name = presence & EventLayout.name != 0 ? try table.read("Event.name", from: &r) : nil
    let url = presence & EventLayout.url != 0 ? try table.read("Event.url", from: &r) : nil
    let parent = presence & EventLayout.parent != 0 ? try table.read("Event.parent", from: &r) : nil
    var status: Int32? = nil
    if presence & EventLayout.status != 0 {
        let raw = try r.svarint("Event.status")
        guard let narrowed = Int32(exactly: raw) else {
            throw .malformedField(name: "Event.status", reason: "\(raw) does not fit 32 bits")
        }
        status = narrowed
    }
    let method = presence & EventLayout.method != 0 ? try table.read("Event.method", from: &r) : nil
    let message = presence & EventLayout.message != 0 ? try table.read("Event.message", from: &r) : nil
    let stack = presence & EventLayout.stack != 0 ? try table.read("Event.stack", from: &r) : nil
    let fatal = presence & EventLayout.fatal != 0 ? try r.bool("Event.fatal") : nil
    var timing: [(String, Double)] = []
    let timingCount = try r.count("Event.timing", minimumElementSize: 3)
    if timingCount > 0 {
        timing.reserveCapacity(timingCount)
        for _ in 0..<timingCount {
            let key = try table.read("Event.timing.name", from: &r)
            timing.append((key, try r.number("Event.timing.value")))
        }
    }
    var props: [(String, PropValue)] = []
    let propCount = try r.count("Event.props", minimumElementSize: 2)
    if propCount > 0 {
        props.reserveCapacity(propCount)
        for _ in 0..<propCount {
            let key = try table.read("Event.props.name", from: &r)
            let value: PropValue
            switch try r.uint8("Event.props.value") {
            case ValueKind.integer: value = .number(try r.number("Event.props.value", kind: ValueKind.integer))
            case ValueKind.float: value = .number(try r.number("Event.props.value", kind: ValueKind.float))
            case ValueKind.string: value = .string(try table.read("Event.props.value", from: &r))
            case ValueKind.false: value = .bool(false)
            case ValueKind.true: value = .bool(true)
            case let other: throw .malformedField(name: "Event.props.value", reason: "unknown value kind \(other)")
            }
            props.append((key, value))
        }
    }
    try r.taggedFields("Event") { (_, _) throws(WireError) -> Bool in false }
    return Event(id: id, type: type, ts: ts, duration: duration, name: name, url: url, parent: parent,
                 status: status, method: method, message: message, stack: stack, fatal: fatal,
                 timing: timing, props: props)
}

extension ByteWriter {
    /// A double as kind 0 + zigzag varint when it is a whole number (not -0), else kind 1 +
    /// its eight IEEE 754 bytes. Timings and counts are mostly whole milliseconds. Only finite
    /// numbers decode.
    @inlinable mutating func number(_ value: Double) {
        if let whole = Int64(exactly: value), !(whole == 0 && value.sign == .minus) {
            uint8(0)
            svarint(whole)
        } else {
            uint8(1)
            float64(value)
        }
    }
}

extension ByteReader {
    /// A presence bitmap: bit n set means the optional field n follows. A bit this version does
    /// not define is malformed (new regular fields come with a new message version).
    @inlinable mutating func presence(_ field: StaticString, known: UInt64) throws(WireError) -> UInt64 {
        let bits = try uvarint(field)
        guard bits & ~known == 0 else {
            throw .malformedField(name: "\(field)", reason: "undefined presence bits 0x\(String(bits & ~known, radix: 16))")
        }
        return bits
    }

    /// Numbers come from JSON beacons, so NaN and infinities are malformed.
    @inlinable mutating func number(_ field: StaticString) throws(WireError) -> Double {
        try number(field, kind: try uint8(field))
    }

    @inlinable mutating func number(_ field: StaticString, kind: UInt8) throws(WireError) -> Double {
        switch kind {
        case 0: return Double(try svarint(field))
        case 1:
            let value = try float64(field)
            guard value.isFinite else { throw .malformedField(name: "\(field)", reason: "\(value) is not a finite number") }
            return value
        case let other: throw .malformedField(name: "\(field)", reason: "unknown number kind \(other)")
        }
    }
}
