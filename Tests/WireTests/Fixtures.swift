import Model
import Foundation
@testable import Wire

/// The messages behind Schemas/wire/golden/*.hex: file name (without .hex) -> message and version.
/// A new schema version adds new entries; existing entries and files never change.
let goldenCases: [(name: String, version: UInt16, message: Message)] = [
    ("Hello-v1", 1, .hello(Hello(minProtocolVersion: 1, maxProtocolVersion: 1, role: .collector,
                                 nodeID: "collector-7f3a", softwareVersion: "clickpath 0.1.0"))),
    ("Hello-v1-expected-shard", 1, .hello(Hello(minProtocolVersion: 1, maxProtocolVersion: 3, role: .client,
                                                nodeID: "cli", softwareVersion: "clickpath 0.1.0",
                                                expectedShardID: "shard-b"))),
    ("HelloAck-v1", 1, .helloAck(HelloAck(chosenProtocolVersion: 1, shardID: "shard-b", nodeID: "sessiond-2",
                                          maxFrameLength: 16 << 20, maxInFlightBatches: 8))),
    ("Error-v1", 1, .error(ErrorMessage(code: .wrongShard,
                                        message: "connected to shard 'shard-b' but expected shard 'shard-a'"))),
    ("Ping-v1", 1, .ping(Ping(nonce: 0x0123_4567_89AB_CDEF))),
    ("Pong-v1", 1, .pong(Pong(nonce: 0x0123_4567_89AB_CDEF))),
    ("GoAway-v1", 1, .goAway(GoAway(reason: "shutting down", drainDeadlineMs: 5000))),
    ("BatchAck-v1-committed", 1, .batchAck(BatchAck(batchID: BatchID(producer: 0xC0FFEE, epoch: 3, sequence: 42),
                                                    outcome: .committed, acceptedEvents: 7, duplicateEvents: 1))),
    ("BatchAck-v1-rejected", 1, .batchAck(BatchAck(batchID: BatchID(producer: 1, epoch: 0, sequence: 0),
                                                   outcome: .rejected, acceptedEvents: 0, duplicateEvents: 0,
                                                   reason: "app 'shop' was erased"))),
    ("EventBatch-v1-empty", 1, .eventBatch(EventBatch(batchID: BatchID(producer: 9, epoch: 1, sequence: 1), beacons: []))),
    ("EventBatch-v1", 1, .eventBatch(richBatch)),
]

/// Every field of the beacon model at least once, every event type, every prop value kind,
/// negative and fractional numbers, a non-ASCII string, and strings repeated across beacons.
let richBatch = EventBatch(batchID: BatchID(producer: 0x5EED_0001, epoch: 2, sequence: 17), beacons: [
    Beacon(app: "shop", platform: .web, visitor: "v-8c1e", session: "s-1", user: "ana@example.com",
           device: Device(browser: "Chrome", browserVersion: "131.0", os: "macOS", osVersion: "15.1",
                          deviceType: "desktop", screen: "1512x982", appVersion: nil),
           sentAt: 1_732_000_000_000, receivedAt: 1_732_000_000_450, clientAddress: "203.0.113.0",
           userAgent: "Mozilla/5.0 (Macintosh)", events: [
               Event(id: "e1", type: .view, ts: 1_732_000_000_100, duration: 1200, name: "Checkout",
                     url: "https://shop.example/checkout", timing: [("ttfb", 180), ("fcp", 640.5)]),
               Event(id: "e2", type: .action, ts: 1_732_000_000_300, duration: 3500, name: "click on Pay",
                     parent: "e1", props: [("button", .string("pay")), ("amount", .number(49.9)),
                                           ("items", .number(3)), ("express", .bool(true)),
                                           ("coupon", .bool(false)), ("delta", .number(-2))]),
               Event(id: "e3", type: .request, ts: 1_732_000_000_310, duration: 900,
                     url: "https://api.shop.example/pay", parent: "e2", status: 502, method: "POST"),
               Event(id: "e4", type: .resource, ts: 1_732_000_000_120, duration: 30,
                     url: "https://cdn.shop.example/app.js", parent: "e1", status: 0),
               Event(id: "e5", type: .error, ts: 1_732_000_000_400, parent: "e2",
                     message: "TypeError: préférence is undefined", stack: "at pay (app.js:10:5)\nat click", fatal: true),
               Event(id: "e6", type: .heartbeat, ts: 1_732_000_000_450),
               Event(id: "e7", type: .custom, ts: 1_732_000_000_460, name: "promo-shown", fatal: false),
           ]),
    Beacon(app: "shop", platform: .mobile, visitor: "v-8c1e", sentAt: 1_731_999_000_000,
           receivedAt: 1_732_000_001_000, events: [
               Event(id: "m1", type: .sessionStart, ts: 1_731_999_000_000),
               Event(id: "m2", type: .appStart, ts: 1_731_999_000_010, duration: -5),
               Event(id: "m3", type: .appBackground, ts: 1_731_999_100_000),
               Event(id: "m4", type: .appForeground, ts: 1_731_999_200_000),
               Event(id: "m5", type: .sessionEnd, ts: 1_731_999_300_000),
           ]),
    Beacon(app: "kiosk", platform: .miniProgram, visitor: "v-2", device: Device(appVersion: "2.4.1"),
           sentAt: 0, receivedAt: -1, events: []),
    Beacon(app: "backend", platform: .custom, visitor: "v-3", sentAt: Int64.max, receivedAt: Int64.min, events: [
        Event(id: "c1", type: .custom, ts: Int64.max, status: Int32.min),
    ]),
])

/// A realistic batch: `beacons` beacons of 10 events each, like the benchmark's.
func realisticBatch(beacons count: Int, sequence: UInt64 = 1) -> EventBatch {
    var beacons: [Beacon] = []
    for b in 0..<count {
        let base: Int64 = 1_732_000_000_000 + Int64(b) * 1_000
        var events: [Event] = []
        for e in 0..<10 {
            events.append(Event(id: "evt-\(b)-\(e)-0f8c2b7e", type: EventType.allCases[e % 12], ts: base - Int64(100 * e),
                                duration: Int64(e * 37), name: "name \(e % 3)", url: "https://shop.example/p/\(e % 4)",
                                parent: e > 0 ? "evt-\(b)-0-0f8c2b7e" : nil, status: e % 2 == 0 ? 200 : nil,
                                timing: [("dns", Double(e)), ("ttfb", 120.25)], props: [("plan", .string("pro")), ("n", .number(Double(e)))]))
        }
        beacons.append(Beacon(app: "shop", platform: .web, visitor: "visitor-\(b % 7)", session: "s-\(b % 7)",
                              device: Device(browser: "Firefox", os: "Linux"), sentAt: base - 20, receivedAt: base,
                              clientAddress: "198.51.100.0", userAgent: "Mozilla/5.0", events: events))
    }
    return EventBatch(batchID: BatchID(producer: 77, epoch: 1, sequence: sequence), beacons: beacons)
}

/// The repository root, found from this file's path (Tests/WireTests/Fixtures.swift).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// Parses the .hex format: hex digit pairs, whitespace ignored, `#` starts a comment line.
func parseHex(_ text: String) -> [UInt8]? {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
        for scalar in line.unicodeScalars where !scalar.properties.isWhitespace {
            guard let value = UInt8(String(scalar), radix: 16) else { return nil }
            digits.append(value)
        }
    }
    guard digits.count % 2 == 0 else { return nil }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// Decodes a stream with the frame decoder, feeding `chunk` bytes at a time.
func decodeAll(_ bytes: [UInt8], chunk: Int, maxFrameLength: Int = FrameHeader.defaultMaxFrameLength)
    -> (messages: [Message], error: WireError?) {
    var decoder = FrameDecoder(maxFrameLength: maxFrameLength)
    var messages: [Message] = []
    var offset = 0
    do {
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            decoder.append(bytes[offset..<end])
            offset = end
            while let message = try decoder.nextMessage() { messages.append(message) }
        }
        try decoder.finish()
        return (messages, nil)
    } catch {
        return (messages, error)
    }
}
