import Model
import Testing
@testable import Wire

// Evolution rules (Schemas/README.md): a newer build adds optional data as tagged fields, which
// older decoders skip; a change of regular fields bumps the message version, which the
// handshake keeps away from peers that do not know it. These tests play both sides.

/// What a future build's Hello could look like: version 2 adds a regular field `region`, and
/// both versions may carry new tagged fields (1 = zone, 2 = capabilities).
private struct FutureHello: WireMessage {
    static let kind = MessageKind.hello
    static let versions: ClosedRange<UInt16> = 1...2
    var base: Hello
    var region = "default-region"
    var zone: String? = nil
    var capabilities: [UInt8] = []

    init(base: Hello, region: String = "default-region", zone: String? = nil, capabilities: [UInt8] = []) {
        self.base = base
        self.region = region
        self.zone = zone
        self.capabilities = capabilities
    }

    func encodePayload(into w: inout ByteWriter, version: UInt16) {
        w.uvarint(UInt64(base.minProtocolVersion))
        w.uvarint(UInt64(base.maxProtocolVersion))
        w.uint8(base.role.rawValue)
        w.string(base.nodeID)
        w.string(base.softwareVersion)
        if version >= 2 { w.string(region) }
        var fields: [(tag: UInt64, body: [UInt8])] = []
        if let shard = base.expectedShardID {
            var body = ByteWriter()
            body.string(shard)
            fields.append((0, body.bytes))
        }
        if let zone {
            var body = ByteWriter()
            body.string(zone)
            fields.append((1, body.bytes))
        }
        if !capabilities.isEmpty { fields.append((2, capabilities)) }
        w.taggedFields(fields)
    }

    init(payload r: inout ByteReader, version: UInt16) throws(WireError) {
        let minimum = try r.uvarint("min", as: UInt16.self)
        let maximum = try r.uvarint("max", as: UInt16.self)
        let role = Role(rawValue: try r.uint8("role")) ?? .client
        let node = try r.string("node")
        let software = try r.string("software")
        if version >= 2 { region = try r.string("region") }
        var shard: String? = nil
        var zone: String? = nil
        var capabilities: [UInt8] = []
        try r.taggedFields("FutureHello") { (tag, body) throws(WireError) -> Bool in
            switch tag {
            case 0: shard = try body.string("shard")
            case 1: zone = try body.string("zone")
            case 2: capabilities = Array(try body.bytes("capabilities", count: body.remaining))
            default: return false
            }
            return true
        }
        base = Hello(minProtocolVersion: minimum, maxProtocolVersion: maximum, role: role, nodeID: node,
                     softwareVersion: software, expectedShardID: shard)
        self.zone = zone
        self.capabilities = capabilities
    }
}

private let baseHello = Hello(minProtocolVersion: 1, maxProtocolVersion: 2, role: .collector, nodeID: "c-9",
                              softwareVersion: "clickpath 0.2.0", expectedShardID: "shard-c")

@Test func todaysDecoderSkipsTaggedFieldsOfANewerWriter() throws {
    let newer = FutureHello(base: baseHello, zone: "eu-west-1a", capabilities: [1, 2, 3, 0xFF])
    let bytes = try newer.encodeFrame(version: 1)
    #expect(try Hello(frameBytes: bytes) == baseHello)
    #expect(try Message(frameBytes: bytes) == .hello(baseHello))
}

@Test func todaysDecoderRefusesANewerVersionInsteadOfMisreadingIt() throws {
    let bytes = try FutureHello(base: baseHello, region: "eu").encodeFrame(version: 2)
    #expect(throws: WireError.unsupportedVersion(kind: "Hello", version: 2, supported: 1...1)) {
        try Message(frameBytes: bytes)
    }
}

@Test func newerDecoderReadsTodaysBytesWithDefaults() throws {
    for (_, _, message) in goldenCases {
        guard case let .hello(hello) = message else { continue }
        let decoded = try FutureHello(frameBytes: try hello.encodeFrame())
        #expect(decoded.base == hello)
        #expect(decoded.region == "default-region")
        #expect(decoded.zone == nil)
        #expect(decoded.capabilities.isEmpty)
    }
}

@Test func newerDecoderReadsItsOwnVersionTwo() throws {
    let newer = FutureHello(base: baseHello, region: "eu", zone: "z", capabilities: [9])
    #expect(try FutureHello(frameBytes: try newer.encodeFrame(version: 2)) == newer)
}

/// A newer collector that puts tagged fields on the batch, on a beacon, on its device and on
/// an event: today's decoder must return exactly the data it knows. Written by hand, field by
/// field, as a second implementation following Schemas/wire/EventBatch.json would.
@Test func eventBatchSkipsUnknownTaggedFieldsAtEveryLevel() throws {
    func tags(_ fields: [(UInt64, [UInt8])]) -> [(tag: UInt64, body: [UInt8])] { fields.map { (tag: $0.0, body: $0.1) } }
    var w = ByteWriter()
    w.uvarint(12); w.uvarint(3); w.uvarint(99)         // batch id
    w.uvarint(1)                                        // one beacon
    w.uvarint(BeaconLayout.device)                      // presence: device only
    w.uint8(0); w.string("shop")                        // app, literal #0
    w.uint8(Platform.web.rawValue)
    w.uint8(0); w.string("v-1")                         // visitor, literal #1
    w.svarint(1_000_000)                                // receivedAt
    w.svarint(-20)                                      // sentAt - receivedAt
    w.uvarint(1 << 2); w.uint8(0); w.string("Linux")    // device: os, literal #2
    w.taggedFields(tags([(3, [0xAA])]))                 // device: unknown tag 3
    w.uvarint(1)                                        // one event
    w.uvarint(EventLayout.url)                          // presence: url
    w.string("e-1"); w.uint8(EventType.view.rawValue)
    w.svarint(-5)                                       // ts - receivedAt
    w.uint8(0); w.string("https://x.example/")          // url, literal #3
    w.uvarint(0); w.uvarint(0)                          // no timing, no props
    w.taggedFields(tags([(0, [1, 2, 3]), (40, []), (1_000_000, [0])]))  // event: unknown tags
    w.taggedFields(tags([(5, Array("future".utf8))]))   // beacon: unknown tag
    w.taggedFields(tags([(0, [0x80, 0x80, 0x01])]))     // batch: unknown tag
    var frame = FrameWriter(kind: .eventBatch, version: 1)
    frame.payload.append(w.bytes)
    let decoded = try EventBatch(frameBytes: try frame.finish())
    #expect(decoded == EventBatch(batchID: BatchID(producer: 12, epoch: 3, sequence: 99), beacons: [
        Beacon(app: "shop", platform: .web, visitor: "v-1", device: Device(os: "Linux"), sentAt: 999_980,
               receivedAt: 1_000_000, events: [Event(id: "e-1", type: .view, ts: 999_995, url: "https://x.example/")]),
    ]))
}
