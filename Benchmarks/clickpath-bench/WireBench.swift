// `clickpath-bench wire`: Wire EventBatch encode/decode against Foundation JSONEncoder and
// JSONDecoder on Codable mirrors of the same events, measured in the same run.
import Model
import Foundation
import Wire

enum WireBench {
    static func run(_ arguments: [String]) -> Int32 {
        var rounds = 5
        var batches = 20
        var wireOnly = false
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? Int(arguments[index + 1]) : nil
            switch arguments[index] {
            case "--wire-only":
                wireOnly = true
                index += 1
                continue
            case "--rounds" where value != nil: rounds = max(1, value!)
            case "--batches" where value != nil: batches = max(1, value!)
            default:
                print("usage: clickpath-bench wire [--rounds N] [--batches N] [--wire-only]\n"
                      + "  batches of 100 beacons x 10 events; --wire-only skips JSON (for profiling)")
                return 2
            }
            index += 2
        }

        var generator = Generator(seed: 0xC11C_4A7F)
        let wireBatches = (0..<batches).map { generator.batch(sequence: UInt64($0)) }
        let jsonBatches = wireBatches.map(JSONBatch.init)
        let events = wireBatches.reduce(0) { $0 + $1.eventCount }

        // Correctness first: both paths must carry the same events.
        do {
            for batch in wireBatches {
                guard try EventBatch(frameBytes: try batch.encodeFrame()) == batch else {
                    print("bench wire: round trip changed a batch")
                    return 1
                }
            }
        } catch {
            print("bench wire: \(error)")
            return 1
        }

        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        var wireFrames: [[UInt8]] = []
        var jsonBodies: [Data] = []

        let wireEncode = measure(rounds) {
            wireFrames = wireBatches.map { try! $0.encodeFrame() }
            return wireFrames.count
        }
        let jsonRounds = wireOnly ? 0 : rounds
        let jsonEncode = measure(jsonRounds) {
            jsonBodies = jsonBatches.map { try! encoder.encode($0) }
            return jsonBodies.count
        }
        let wireDecode = measure(rounds) {
            var seen = 0
            for frame in wireFrames {
                let batch = try! EventBatch(frameBytes: frame)
                seen &+= batch.eventCount &+ Int(truncatingIfNeeded: batch.beacons.last?.events.last?.ts ?? 0)
            }
            return seen
        }
        let jsonDecode = measure(jsonRounds) {
            var seen = 0
            for body in jsonBodies {
                let batch = try! decoder.decode(JSONBatch.self, from: body)
                seen &+= batch.beacons.reduce(0) { $0 + $1.events.count } &+ Int(truncatingIfNeeded: batch.beacons.last?.events.last?.ts ?? 0)
            }
            return seen
        }

        let wireBytes = wireFrames.reduce(0) { $0 + $1.count }
        let jsonBytes = jsonBodies.reduce(0) { $0 + $1.count }
        print("bench wire: \(batches) batches x 100 beacons x 10 events = \(events) events, best of \(rounds) rounds, CPU time of one thread")
        if wireOnly {
            print("  size       wire \(wireBytes / events) B/event")
        } else {
            print("  size       wire \(wireBytes / events) B/event   json \(jsonBytes / events) B/event   (\(String(format: "%.1f", Double(jsonBytes) / Double(wireBytes)))x smaller)")
        }
        report("encode", "wire", wireEncode, events: events, bytes: wireBytes)
        report("decode", "wire", wireDecode, events: events, bytes: wireBytes)
        if wireOnly { return 0 }
        report("encode", "json", jsonEncode, events: events, bytes: jsonBytes)
        report("decode", "json", jsonDecode, events: events, bytes: jsonBytes)
        print(String(format: "decode ratio %.1fx JSONDecoder", jsonDecode / wireDecode))
        print(String(format: "encode ratio %.1fx JSONEncoder", jsonEncode / wireEncode))
        return 0
    }

    /// Best CPU seconds of this thread over `rounds` runs of `body`. CPU time rather than wall
    /// time, because the machine is shared: time spent descheduled would count against whichever
    /// codec happened to run then.
    private static func measure(_ rounds: Int, _ body: () -> Int) -> Double {
        var best = Double.infinity
        var sink = 0
        for _ in 0..<rounds {
            let start = threadCPUSeconds()
            sink &+= body()
            best = min(best, threadCPUSeconds() - start)
        }
        if sink == 42 { print("", terminator: "") }
        return best
    }

    private static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    private static func report(_ direction: String, _ codec: String, _ seconds: Double, events: Int, bytes: Int) {
        print(String(format: "  %@ %@  %9.0f events/s  %8.1f MB/s  (%.3f s)", direction, codec,
                     Double(events) / seconds, Double(bytes) / seconds / 1e6, seconds))
    }
}

/// Deterministic realistic traffic: a shop web app, page views with navigation timings, clicks,
/// XHR requests and resources with statuses, occasional errors with stacks, props on actions.
private struct Generator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func uuid() -> String {
        let a = next(), b = next()
        let hex = String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }

    static let pages = ["/", "/search?q=running+shoes", "/product/8812-trail-runner-gtx", "/product/1093-city-sneaker",
                        "/cart", "/checkout/shipping", "/checkout/payment", "/account/orders", "/help/returns"]
    static let apis = ["/api/v2/cart", "/api/v2/search", "/api/v2/recommendations?slot=home", "/api/v2/inventory/8812",
                       "/api/v2/payment/intent", "/api/v2/session/refresh"]
    static let assets = ["/static/js/app.3f9c2e1a.js", "/static/css/main.81b2c4d0.css", "/static/img/hero-winter.webp",
                         "/static/js/vendor.a11bd9f2.js", "/fonts/inter-var.woff2"]
    static let actions = ["click on Add to cart", "click on Checkout", "click on Pay now", "submit search", "click on Product tile",
                          "scroll to reviews"]
    static let agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                         "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                         "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"]

    mutating func batch(sequence: UInt64) -> EventBatch {
        let beacons = (0..<100).map { _ in beacon() }
        return EventBatch(batchID: BatchID(producer: 0x1D2C_3B4A, epoch: 7, sequence: sequence), beacons: beacons)
    }

    mutating func beacon() -> Beacon {
        let receivedAt: Int64 = 1_732_000_000_000 + Int64(below(86_400_000))
        let visitor = "v-" + uuid()
        let host = "https://shop.example.com"
        var events: [Event] = []
        var viewID = uuid()
        var actionID: String? = nil
        var ts = receivedAt - 30_000 - Int64(below(60_000))
        for index in 0..<10 {
            ts += Int64(50 + below(3000))
            let id = uuid()
            switch index {
            case 0, 5:
                viewID = id
                events.append(Event(id: id, type: .view, ts: ts, duration: Int64(300 + below(4000)), name: "Product page",
                                    url: host + pick(Self.pages),
                                    timing: [("dns", Double(below(40))), ("tcp", Double(below(60))), ("ttfb", Double(80 + below(400))),
                                             ("fcp", Double(400 + below(1500)) + 0.5), ("lcp", Double(900 + below(3000)))]))
            case 1, 6:
                actionID = id
                events.append(Event(id: id, type: .action, ts: ts, duration: Int64(20 + below(5000)), name: pick(Self.actions),
                                    parent: viewID, props: [("button", .string("primary")), ("position", .number(Double(below(12)))),
                                                            ("experiment", .string("checkout-v2")), ("logged_in", .bool(below(2) == 0))]))
            case 2, 3, 7:
                let status: Int32 = below(20) == 0 ? 503 : 200
                events.append(Event(id: id, type: .request, ts: ts, duration: Int64(15 + below(900)), url: host + pick(Self.apis),
                                    parent: actionID ?? viewID, status: status, method: below(3) == 0 ? "POST" : "GET",
                                    timing: [("ttfb", Double(10 + below(300))), ("download", Double(below(50)))]))
            case 4, 8:
                events.append(Event(id: id, type: .resource, ts: ts, duration: Int64(5 + below(400)), url: host + pick(Self.assets),
                                    parent: viewID, status: 200, timing: [("transferSize", Double(1000 + below(200_000)))]))
            default:
                if below(4) == 0 {
                    events.append(Event(id: id, type: .error, ts: ts, parent: actionID ?? viewID,
                                        message: "TypeError: Cannot read properties of undefined (reading 'price')",
                                        stack: "TypeError: Cannot read properties of undefined (reading 'price')\n    at renderCart (https://shop.example.com/static/js/app.3f9c2e1a.js:1:48213)\n    at onClick (https://shop.example.com/static/js/app.3f9c2e1a.js:1:50122)",
                                        fatal: false))
                } else {
                    events.append(Event(id: id, type: .custom, ts: ts, name: "promo_impression", parent: viewID,
                                        props: [("campaign", .string("winter-sale-2026")), ("slot", .number(3))]))
                }
            }
        }
        return Beacon(app: "shop-web", platform: .web, visitor: visitor, session: "s-" + uuid(),
                      user: below(3) == 0 ? "user\(below(100_000))@example.com" : nil,
                      device: Device(browser: "Chrome", browserVersion: "131.0.6778.86", os: pick(["Windows", "macOS", "iOS"]),
                                     osVersion: "10.0", deviceType: "desktop", screen: "1920x1080"),
                      sentAt: receivedAt - Int64(below(2000)), receivedAt: receivedAt, clientAddress: "203.0.113.0",
                      userAgent: pick(Self.agents), events: events)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

// Codable mirrors of the same data, shaped like the beacon JSON (objects for timing and props).

private struct JSONBatch: Codable {
    var producer: UInt64
    var epoch: UInt32
    var sequence: UInt64
    var beacons: [JSONBeacon]

    init(_ batch: EventBatch) {
        producer = batch.batchID.producer
        epoch = batch.batchID.epoch
        sequence = batch.batchID.sequence
        beacons = batch.beacons.map(JSONBeacon.init)
    }
}

private struct JSONDevice: Codable {
    var browser, browserVersion, os, osVersion, deviceType, screen, appVersion: String?
}

private struct JSONBeacon: Codable {
    var app: String
    var platform: String
    var visitor: String
    var session: String?
    var user: String?
    var device: JSONDevice?
    var sentAt: Int64
    var receivedAt: Int64
    var clientAddress: String?
    var userAgent: String?
    var events: [JSONEvent]

    init(_ b: Beacon) {
        app = b.app
        platform = b.platform.name
        visitor = b.visitor
        session = b.session
        user = b.user
        device = b.device.map {
            JSONDevice(browser: $0.browser, browserVersion: $0.browserVersion, os: $0.os, osVersion: $0.osVersion,
                       deviceType: $0.deviceType, screen: $0.screen, appVersion: $0.appVersion)
        }
        sentAt = b.sentAt
        receivedAt = b.receivedAt
        clientAddress = b.clientAddress
        userAgent = b.userAgent
        events = b.events.map(JSONEvent.init)
    }
}

private enum JSONProp: Codable {
    case string(String), number(Double), bool(Bool)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else { self = .string(try container.decode(String.self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(s): try container.encode(s)
        case let .number(n): try container.encode(n)
        case let .bool(b): try container.encode(b)
        }
    }
}

private struct JSONEvent: Codable {
    var id: String
    var type: String
    var ts: Int64
    var duration: Int64?
    var name: String?
    var url: String?
    var parent: String?
    var status: Int32?
    var method: String?
    var message: String?
    var stack: String?
    var fatal: Bool?
    var timing: [String: Double]?
    var props: [String: JSONProp]?

    init(_ e: Event) {
        id = e.id
        type = e.type.name
        ts = e.ts
        duration = e.duration
        name = e.name
        url = e.url
        parent = e.parent
        status = e.status
        method = e.method
        message = e.message
        stack = e.stack
        fatal = e.fatal
        timing = e.timing.isEmpty ? nil : Dictionary(e.timing, uniquingKeysWith: { a, _ in a })
        props = e.props.isEmpty ? nil : Dictionary(e.props.map { ($0.0, JSONProp($0.1)) }, uniquingKeysWith: { a, _ in a })
    }
}

private extension JSONProp {
    init(_ value: PropValue) {
        switch value {
        case let .string(s): self = .string(s)
        case let .number(n): self = .number(n)
        case let .bool(b): self = .bool(b)
        }
    }
}
