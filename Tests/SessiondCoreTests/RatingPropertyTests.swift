import Config
import Model
import Foundation
import Sessionizer
@testable import SessionStore
import Testing
import Wire
@testable import SessiondCore

/// One Apdex rule (issue #12): for random sessions of apps with their own thresholds and factors,
/// the ratings `GET /v1/sessions/{id}` shows in its timeline are what the session summary counted.
@Suite struct RatingPropertyTests {
    /// (T, F) per app; "web" keeps the defaults.
    static let apps: [String: (Int64, Int64)] = ["fast": (400, 2), "slow": (5000, 6), "web": (3000, 4)]

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A visit: views and actions with and without durations (spread over the apps' bounds),
    /// requests, resources and errors that name an item of the visit (earlier or later) or
    /// nothing, now and then a gap that starts another session.
    static func visit(_ visitor: Int, app: String, start: Int64, _ random: inout Generator) -> [Event] {
        let durations: [Int64?] = [nil, 0, 100, 400, 401, 800, 801, 3000, 3001, 12_000, 12_001, 30_000, 30_001]
        let statuses: [Int32?] = [nil, 200, 204, 399, 400, 404, 500, 0]
        var events: [Event] = []
        var items: [String] = []
        var ts = start
        let count = Int.random(in: 1...30, using: &random)
        let withActions = Bool.random(using: &random)
        for index in 0..<count {
            ts += Int64.random(in: 0...20_000, using: &random)
            if Int.random(in: 0..<25, using: &random) == 0 { ts += 31 * 60_000 }
            let id = "v\(visitor)-\(index)"
            let parent: String? = items.isEmpty || Int.random(in: 0..<4, using: &random) == 0
                ? (Bool.random(using: &random) ? nil : "v\(visitor)-\(Int.random(in: 0..<count, using: &random))")
                : items.randomElement(using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1:
                events.append(Event(id: id, type: .view, ts: ts, duration: durations.randomElement(using: &random)!,
                                    name: "page\(index % 4)", url: "https://\(app).example.com/p\(index % 4)"))
                items.append(id)
            case 2 where withActions, 3 where withActions:
                events.append(Event(id: id, type: .action, ts: ts, duration: durations.randomElement(using: &random)!,
                                    name: "click \(index % 3)", parent: items.last))
                items.append(id)
            case 4, 5:
                events.append(Event(id: id, type: .request, ts: ts, duration: 50, url: "https://api.example.com/x",
                                    parent: parent, status: statuses.randomElement(using: &random)!))
            case 6:
                events.append(Event(id: id, type: .resource, ts: ts, duration: 20, url: "https://cdn.example.com/y",
                                    parent: parent, status: statuses.randomElement(using: &random)!))
            case 7:
                events.append(Event(id: id, type: .error, ts: ts, parent: parent, message: "boom"))
            default:
                events.append(Event(id: id, type: .custom, ts: ts, name: "custom"))
            }
        }
        return events
    }

    static func walk(_ nodes: [[String: Any]], into rated: inout [(type: String, ts: Int64, id: String, rating: String)]) {
        for node in nodes {
            if let rating = node["rating"] as? String {
                rated.append((node["type"] as? String ?? "", (node["ts"] as? NSNumber)?.int64Value ?? 0,
                              node["id"] as? String ?? "", rating))
            }
            walk(node["children"] as? [[String: Any]] ?? [], into: &rated)
        }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func timelineRatingsAreWhatTheSummaryCounted(seed: UInt64) throws {
        let fixture = try StoreFixture { app, platform in
            var rules = SessionRules.defaults(for: platform)
            if let (threshold, factor) = RatingPropertyTests.apps[app] {
                rules.apdexThreshold = threshold
                rules.toleratingFactor = factor
            }
            return rules
        }
        var random = Generator(state: seed)
        var beacons: [Beacon] = []
        let t = StoreFixture.t0
        for visitor in 0..<60 {
            let app = ["fast", "slow", "web"][visitor % 3]
            let events = Self.visit(visitor, app: app, start: t + Int64(visitor) * 1000, &random)
            // Several beacons per visit, some delivered out of order (late events, slow path).
            var rest = events[...]
            while !rest.isEmpty {
                let size = Int.random(in: 1...6, using: &random)
                let chunk = Array(rest.prefix(size))
                rest = rest.dropFirst(size)
                beacons.append(Beacon(app: app, platform: .web, visitor: "visitor-\(visitor)", sentAt: chunk[0].ts,
                                      receivedAt: chunk[0].ts, events: chunk))
            }
        }
        for index in beacons.indices where Int.random(in: 0..<4, using: &random) == 0 {
            beacons.swapAt(index, Int.random(in: index..<beacons.count, using: &random))
        }
        for start in stride(from: 0, to: beacons.count, by: 7) {
            try fixture.apply(Array(beacons[start..<min(start + 7, beacons.count)]))
        }
        if seed % 2 == 0 { _ = try fixture.store.advance(watermark: t + 10 * 3_600_000, now: fixture.now + 1) }

        let rows = try fixture.store.connection.statement("""
            SELECT id, satisfied_ratings, tolerating_ratings, frustrated_ratings, frustrated_actions, last_rating, actions
            FROM sessions WHERE merged_into IS NULL
            """)
        var summaries: [(id: String, counts: [String: Int], frustratedActions: Int, last: String?, actions: Int)] = []
        while try rows.step() {
            summaries.append((rows.text(0), ["satisfied": rows.int(1), "tolerating": rows.int(2), "frustrated": rows.int(3)],
                              rows.int(4), rows.optionalText(5), rows.int(6)))
        }
        rows.reset()
        #expect(summaries.count >= 60)
        var ratedSomething = 0
        for summary in summaries {
            let (status, body, _) = try fixture.get("/v1/sessions/\(summary.id)")
            #expect(status == 200)
            var rated: [(type: String, ts: Int64, id: String, rating: String)] = []
            Self.walk(body["timeline"] as? [[String: Any]] ?? [], into: &rated)
            var counts = ["satisfied": 0, "tolerating": 0, "frustrated": 0]
            for item in rated { counts[item.rating, default: 0] += 1 }
            #expect(counts == summary.counts, "session \(summary.id): timeline \(rated)")
            let frustratedActions = rated.filter { $0.type == "action" && $0.rating == "frustrated" }.count
            #expect(frustratedActions == summary.frustratedActions, "session \(summary.id)")
            let healthReasons = body["healthReasons"] as? [String: Any]
            #expect((healthReasons?["frustratedActions"] as? NSNumber)?.intValue == summary.frustratedActions)
            #expect(rated.allSatisfy { $0.type == (summary.actions > 0 ? "action" : "view") })
            // Ids are ASCII here: String order is the store's byte order.
            let last = rated.max { ($0.ts, $0.id) < ($1.ts, $1.id) }
            #expect(last?.rating == summary.last, "session \(summary.id): last rated of \(rated)")
            if !rated.isEmpty { ratedSomething += 1 }
        }
        #expect(ratedSomething > summaries.count / 3)
    }
}
