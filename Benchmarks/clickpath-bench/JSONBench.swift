import Foundation
import JSON

/// `clickpath-bench json [--seconds S]`: the JSON reader on a realistic ~1.2 KB beacon of 10
/// events, against Foundation's JSONSerialization and JSONDecoder in the same run. Times are
/// thread CPU time, so other load on the machine does not inflate them.
enum JSONBench {
    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 2.0
        if let index = arguments.firstIndex(of: "--seconds"), index + 1 < arguments.count,
           let value = Double(arguments[index + 1]), value > 0 {
            seconds = value
        }
        let body = Array(beaconText.utf8)
        print("bench json: one beacon of \(body.count) bytes, 10 events; CPU time per parse, \(seconds) s per reader")

        do {
            let cursorFields = try cursorWalk(body)
            let decoded = try JSONDecoder().decode(BenchBeacon.self, from: Data(body))
            guard cursorFields == decoded.fieldCount else {
                print("bench json: the cursor and JSONDecoder read different fields (\(cursorFields) vs \(decoded.fieldCount))")
                return 1
            }
        } catch {
            print("bench json: sample does not parse: \(error)")
            return 1
        }

        let cursor = measure(seconds: seconds) { _ = try? cursorWalk(body) }
        let tree = measure(seconds: seconds) { _ = try? JSONValue.parse(body) }
        let data = Data(body)
        let serialization = measure(seconds: seconds) { _ = try? JSONSerialization.jsonObject(with: data) }
        let decoder = JSONDecoder()
        let decodable = measure(seconds: seconds) { _ = try? decoder.decode(BenchBeacon.self, from: data) }

        func line(_ name: String, _ micros: Double) {
            let perSecond = 1e6 / micros
            let megabytes = perSecond * Double(body.count) / 1e6
            print(name.padding(toLength: 34, withPad: " ", startingAt: 0)
                  + String(format: "%9.2f µs/beacon %10.0f beacons/s %8.1f MB/s", micros, perSecond, megabytes))
        }
        line("JSONReader (cursor, every field)", cursor)
        line("JSONValue (tree)", tree)
        line("JSONSerialization", serialization)
        line("JSONDecoder (Codable)", decodable)
        print(String(format: "json ratio %.1fx JSONDecoder", decodable / cursor))
        print(String(format: "json ratio %.1fx JSONSerialization", serialization / cursor))
        return 0
    }

    /// Runs `body` repeatedly for about `seconds` of CPU time; returns µs per call.
    static func measure(seconds: Double, _ body: () -> Void) -> Double {
        for _ in 0..<200 { body() }
        var calls = 0
        let start = cpuSeconds()
        var elapsed = 0.0
        while elapsed < seconds {
            for _ in 0..<500 { body() }
            calls += 500
            elapsed = cpuSeconds() - start
        }
        return elapsed / Double(calls) * 1e6
    }

    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Reads every field into Swift values the way a beacon parser does: strings as `String`,
    /// numbers as `Int64`/`Double`, keys compared without allocating. Returns the field count.
    static func cursorWalk(_ body: [UInt8]) throws(JSONError) -> Int {
        try JSONReader.withReader(body, maxDepth: 8) { (r) throws(JSONError) -> Int in
            var fields = 0
            var sink = 0
            try r.beginObject()
            while let key = try r.nextKey() {
                fields += 1
                if key == "events" {
                    try r.beginArray()
                    while try r.nextElement() {
                        try r.beginObject()
                        while let field = try r.nextKey() {
                            fields += 1
                            if field == "ts" || field == "status" {
                                sink &+= Int(truncatingIfNeeded: try r.readInt64())
                            } else if field == "duration" {
                                sink &+= Int(try r.readDouble())
                            } else if field == "timing" || field == "props" {
                                try r.beginObject()
                                while let name = try r.nextKey() {
                                    sink &+= name.string.utf8.count
                                    switch try r.peekKind() {
                                    case .string: sink &+= try r.readString().utf8.count
                                    case .bool: sink &+= try r.readBool() ? 1 : 0
                                    default: sink &+= Int(try r.readDouble())
                                    }
                                }
                            } else {
                                sink &+= try r.readString().utf8.count
                            }
                        }
                    }
                } else if key == "device" {
                    try r.beginObject()
                    while let field = try r.nextKey() {
                        fields += 1
                        _ = field
                        sink &+= try r.readString().utf8.count
                    }
                } else if key == "sentAt" {
                    sink &+= Int(truncatingIfNeeded: try r.readInt64())
                } else {
                    sink &+= try r.readString().utf8.count
                }
            }
            try r.finish()
            return sink == Int.min ? 0 : fields
        }
    }

    struct BenchDevice: Decodable {
        var browser: String?, browserVersion: String?, os: String?, osVersion: String?
        var deviceType: String?, screen: String?
    }

    enum PropValue: Decodable {
        case string(String), number(Double), bool(Bool)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let b = try? container.decode(Bool.self) { self = .bool(b) }
            else if let n = try? container.decode(Double.self) { self = .number(n) }
            else { self = .string(try container.decode(String.self)) }
        }
    }

    struct BenchEvent: Decodable {
        var id: String, type: String, ts: Int64
        var duration: Double?, name: String?, url: String?, parent: String?, status: Int64?, method: String?
        var message: String?, timing: [String: Double]?, props: [String: PropValue]?
    }

    struct BenchBeacon: Decodable {
        var app: String, platform: String, visitor: String, session: String?, device: BenchDevice?
        var sentAt: Int64
        var events: [BenchEvent]

        var fieldCount: Int {
            let deviceFields = [device?.browser, device?.browserVersion, device?.os, device?.osVersion,
                                device?.deviceType, device?.screen].compactMap { $0 }.count
            let eventFields = events.reduce(0) { sum, e in
                sum + 3 + [e.duration != nil, e.name != nil, e.url != nil, e.parent != nil, e.status != nil,
                           e.method != nil, e.message != nil, e.timing != nil, e.props != nil].filter { $0 }.count
            }
            return 6 + (session == nil ? 0 : 1) + deviceFields + eventFields
        }
    }

    static let beaconText = #"""
    {"app":"shop","platform":"web","visitor":"v-8f14e45fceea","session":"s-1c9a7b","device":{"browser":"Chrome","browserVersion":"131.0","os":"Windows","osVersion":"11","deviceType":"desktop","screen":"1920x1080"},"sentAt":1764166742500,"events":[\#
    {"id":"e01","type":"view","ts":1764166740000,"duration":1250.5,"name":"/checkout","url":"https://shop.example.com/checkout?step=2","timing":{"dns":12,"ttfb":180.5}},\#
    {"id":"e02","type":"resource","ts":1764166740100,"duration":85,"name":"app.js","url":"https://cdn.example.com/app.js","parent":"e01","status":200},\#
    {"id":"e03","type":"resource","ts":1764166740120,"duration":40,"name":"logo.svg","url":"https://cdn.example.com/logo.svg","parent":"e01","status":200},\#
    {"id":"e04","type":"action","ts":1764166741000,"duration":420,"name":"click on Pay","parent":"e01","props":{"items":3,"express":true}},\#
    {"id":"e05","type":"request","ts":1764166741050,"duration":380,"name":"POST /api/pay","url":"https://shop.example.com/api/pay","parent":"e04","status":502,"method":"POST"},\#
    {"id":"e06","type":"error","ts":1764166741440,"name":"PaymentError","message":"gateway answered 502","parent":"e04"},\#
    {"id":"e07","type":"action","ts":1764166745000,"duration":150,"name":"click on Retry","parent":"e01"},\#
    {"id":"e08","type":"request","ts":1764166745020,"duration":120,"name":"POST /api/pay","url":"https://shop.example.com/api/pay","parent":"e07","status":200,"method":"POST"},\#
    {"id":"e09","type":"view","ts":1764166746000,"duration":300,"name":"/thanks","url":"https://shop.example.com/thanks"},\#
    {"id":"e10","type":"heartbeat","ts":1764166750000}]}
    """#
}
