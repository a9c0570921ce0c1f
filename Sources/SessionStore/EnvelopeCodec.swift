import Model
import Wire

/// The beacon envelope fields each event keeps for the sessionizer (client session id, user tag,
/// device), interned per visitor in `envelopes` so ten events of a beacon share one small row.
/// Layout: presence bitmap, then present strings (varint length + UTF-8).
enum EnvelopeCodec {
    struct Envelope: Hashable {
        var clientSession: String?
        var user: String?
        var device: Device?
    }

    static func encode(_ envelope: Envelope) -> [UInt8] {
        var out: [UInt8] = []
        let fields = [envelope.clientSession, envelope.user]
        var bits: UInt8 = 0
        for (index, field) in fields.enumerated() where field != nil { bits |= 1 << UInt8(index) }
        if envelope.device != nil { bits |= 1 << 2 }
        out.append(bits)
        for field in fields { if let field { EventCodec.putString(field, &out) } }
        if let device = envelope.device { encodeDevice(device, into: &out) }
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> Envelope {
        var reader = EventCodec.Reader(bytes: bytes)
        let bits = try reader.byte()
        guard bits & ~0b111 == 0 else { throw .corruptRow("envelope: unknown fields \(bits)") }
        var envelope = Envelope()
        if bits & 1 != 0 { envelope.clientSession = try reader.string() }
        if bits & 2 != 0 { envelope.user = try reader.string() }
        if bits & 4 != 0 { envelope.device = try decodeDevice(&reader) }
        guard reader.offset == bytes.count else { throw .corruptRow("envelope: trailing bytes") }
        return envelope
    }

    static func encodeDevice(_ device: Device, into out: inout [UInt8]) {
        let fields = [device.browser, device.browserVersion, device.os, device.osVersion, device.deviceType,
                      device.screen, device.appVersion]
        var bits: UInt8 = 0
        for (index, field) in fields.enumerated() where field != nil { bits |= 1 << UInt8(index) }
        out.append(bits)
        for field in fields { if let field { EventCodec.putString(field, &out) } }
    }

    static func decodeDevice(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> Device {
        var reader = EventCodec.Reader(bytes: bytes)
        let device = try decodeDevice(&reader)
        guard reader.offset == bytes.count else { throw .corruptRow("device: trailing bytes") }
        return device
    }

    static func decodeDevice(_ reader: inout EventCodec.Reader) throws(StoreError) -> Device {
        let bits = try reader.byte()
        guard bits & 0x80 == 0 else { throw .corruptRow("device: unknown fields \(bits)") }
        var values: [String?] = []
        for index in 0..<7 { values.append(bits & (1 << UInt8(index)) != 0 ? try reader.string() : nil) }
        return Device(browser: values[0], browserVersion: values[1], os: values[2], osVersion: values[3],
                      deviceType: values[4], screen: values[5], appVersion: values[6])
    }
}
