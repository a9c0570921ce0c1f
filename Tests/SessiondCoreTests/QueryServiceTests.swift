import Model
import Config
import Foundation
import SessionStore
import Synchronization
import Testing
import Wire
@testable import SessiondCore

/// A real SQLite store filled through `SessionStore.apply`, queried through `QueryService` on a
/// `SessionReader` (a read-only connection), as sessiond does.
final class StoreFixture {
    final class Time: Sendable {
        let ms = Atomic<Int64>(StoreFixture.t0 + 60_000)
    }

    let dir: String
    let path: String
    let store: SessionStore
    let pins: SortPins
    let service: QueryService
    static let t0: Int64 = 1_795_700_000_000
    let time = Time()
    var now: Int64 {
        get { time.ms.load(ordering: .relaxed) }
        set { time.ms.store(newValue, ordering: .relaxed) }
    }
    var sequence: UInt64 = 0

    init(rules: @escaping RulesProvider = { _, platform in SessionRules.defaults(for: platform) }) throws {
        dir = NSTemporaryDirectory() + "sessiond-query-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = dir + "/sessions.db"
        store = try SessionStore(path: path, now: Self.t0, rules: rules)
        let time = time
        pins = SortPins(lifetime: Cursor.lifetime) { time.ms.load(ordering: .relaxed) }
        try store.recordSortPins(pins)
        service = QueryService(reader: try SessionReader(path: path, pins: pins))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Each commit gets a later stamp, as sessiond's writer guarantees.
    func apply(_ beacons: [Beacon]) throws {
        now += 1
        sequence += 1
        _ = try store.apply(batch: BatchID(producer: 1, epoch: 1, sequence: sequence), beacons: beacons, now: now)
    }

    func get(_ target: String, deadline: QueryDeadline? = nil) throws -> (Int, [String: Any], QueryResponse) {
        let parts = target.split(separator: "?", maxSplits: 1)
        let path = String(parts[0])
        let query = parts.count > 1 ? Array(parts[1].utf8) : []
        let match = try Router.match(method: "GET", path: Array(path.utf8))
        let response = service.handle(match, query: query, path: path, now: now, deadline: deadline)
        let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        return (response.status, body, response)
    }

    func ids(_ target: String) throws -> [String] {
        let (status, body, _) = try get(target)
        #expect(status == 200, "\(target): \(body)")
        return (body["sessions"] as? [[String: Any]] ?? []).compactMap { $0["visitor"] as? String }
    }

    /// Three visitors of `shop` (web) and one of `mob` (mobile).
    func fillShop() throws {
        let t = Self.t0
        let alice1 = Beacon(app: "shop", platform: .web, visitor: "v-alice", session: "c1",
                            device: Device(browser: "Chrome", os: "Windows", deviceType: "desktop"),
                            sentAt: t, receivedAt: t, events: [
            Event(id: "a-v1", type: .view, ts: t, duration: 800, name: "Home", url: "/"),
            Event(id: "a-a1", type: .action, ts: t + 1000, duration: 400, name: "click Buy", parent: "a-v1",
                  props: [("plan", .string("pro")), ("items", .number(3))]),
            Event(id: "a-r1", type: .request, ts: t + 1100, duration: 200, url: "/api/cart", parent: "a-a1",
                  status: 200, method: "POST"),
            Event(id: "a-x1", type: .resource, ts: t + 1200, duration: 30, url: "/img/logo.png", parent: "a-v1", status: 404),
        ])
        let alice2 = Beacon(app: "shop", platform: .web, visitor: "v-alice", session: "c1", user: "alice@example.com",
                            device: Device(browser: "Chrome", os: "Windows", deviceType: "desktop"),
                            sentAt: t, receivedAt: t, events: [
            Event(id: "a-v2", type: .view, ts: t + 5000, duration: 500, name: "Checkout", url: "/checkout"),
            Event(id: "a-e1", type: .error, ts: t + 5200, parent: "a-v2", message: "TypeError: total is undefined",
                  stack: "at pay (checkout.js:12)"),
        ])
        let bob = Beacon(app: "shop", platform: .web, visitor: "v-bob", session: "c2",
                         device: Device(browser: "Firefox", os: "Linux", deviceType: "desktop"),
                         sentAt: t, receivedAt: t, events: [
            Event(id: "b-v1", type: .view, ts: t + 2000, duration: 300, name: "Home", url: "/"),
            Event(id: "b-a1", type: .action, ts: t + 2500, duration: 9000, name: "search", parent: "b-v1"),
            Event(id: "b-e1", type: .error, ts: t + 3000, parent: "b-a1", message: "TypeError: total is undefined"),
            Event(id: "b-e2", type: .error, ts: t + 3100, parent: "b-a1", message: "RangeError"),
        ])
        let carol = Beacon(app: "shop", platform: .web, visitor: "v-carol", session: "c3",
                           sentAt: t, receivedAt: t, events: [
            Event(id: "c-v1", type: .view, ts: t + 4000, duration: 100, name: "Pricing", url: "/pricing"),
        ])
        let dave = Beacon(app: "mob", platform: .mobile, visitor: "v-dave",
                          device: Device(os: "Android", deviceType: "phone", appVersion: "2.1"),
                          sentAt: t, receivedAt: t, events: [
            Event(id: "d-s", type: .appStart, ts: t + 100),
            Event(id: "d-v1", type: .view, ts: t + 200, duration: 50, name: "Main"),
        ])
        try apply([alice1, bob, carol, dave])
        try apply([alice2])
    }
}

@Suite(.serialized) struct QueryServiceTests {
    @Test func filtersSelectTheRightSessions() throws {
        let f = try StoreFixture()
        try f.fillShop()
        #expect(Set(try f.ids("/v1/sessions")) == ["v-alice", "v-bob", "v-carol", "v-dave"])
        #expect(Set(try f.ids("/v1/sessions?app=shop")) == ["v-alice", "v-bob", "v-carol"])
        #expect(try f.ids("/v1/sessions?browser=Chrome") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?app=shop&not.browser=Chrome")) == ["v-bob", "v-carol"])
        #expect(Set(try f.ids("/v1/sessions?!browser=Chrome&!browser=Firefox")) == ["v-carol", "v-dave"])
        #expect(Set(try f.ids("/v1/sessions?browser=")) == ["v-carol", "v-dave"])
        #expect(try f.ids("/v1/sessions?browser=Fire*") == ["v-bob"])
        #expect(try f.ids("/v1/sessions?platform=mobile") == ["v-dave"])
        #expect(try f.ids("/v1/sessions?os=Android&appVersion=2.1&deviceType=phone") == ["v-dave"])
        #expect(try f.ids("/v1/sessions?minErrors=2") == ["v-bob"])
        #expect(Set(try f.ids("/v1/sessions?not.minErrors=1")) == ["v-carol", "v-dave"])
        #expect(Set(try f.ids("/v1/sessions?maxErrors=1&app=shop")) == ["v-alice", "v-carol"])
        #expect(try f.ids("/v1/sessions?minDuration=9s") == ["v-bob"])
        #expect(try f.ids("/v1/sessions?minDuration=5s&maxDuration=6s") == ["v-alice"])
        #expect(try f.ids("/v1/sessions?minActions=1&maxActions=1&browser=Firefox") == ["v-bob"])
        #expect(Set(try f.ids("/v1/sessions?page=/")) == ["v-alice", "v-bob"])
        #expect(try f.ids("/v1/sessions?page=/check*") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?app=shop&not.page=/")) == ["v-carol"])
        #expect(try f.ids("/v1/sessions?action=search") == ["v-bob"])
        #expect(try f.ids("/v1/sessions?prop.plan=pro") == ["v-alice"])
        #expect(try f.ids("/v1/sessions?prop.items=3") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?app=shop&not.prop.plan=pro")) == ["v-bob", "v-carol"])
        #expect(try f.ids("/v1/sessions?entryPage=/pricing") == ["v-carol"])
        #expect(try f.ids("/v1/sessions?exitPage=/checkout") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?status=live")) == ["v-alice", "v-bob", "v-carol", "v-dave"])
        #expect(try f.ids("/v1/sessions?status=completed").isEmpty)
        #expect(Set(try f.ids("/v1/sessions?health=abnormal")) == ["v-alice", "v-bob"])
        #expect(try f.ids("/v1/sessions?experience=frustrated&app=shop") == ["v-bob"])
        // Sessions overlapping the range: carol's (t+4000...t+4100) does not.
        #expect(Set(try f.ids("/v1/sessions?from=\(StoreFixture.t0 + 4500)&to=\(StoreFixture.t0 + 10_000)")) == ["v-alice", "v-bob"])
        #expect(try f.ids("/v1/sessions?app=shop&to=\(StoreFixture.t0 + 1)") == ["v-alice"])
    }

    /// Term filters give the same answers whether a term drives the query (rare) or is checked
    /// per row (popular).
    @Test(arguments: [Int64(1), 2000])
    func termFiltersAgreeInBothPlans(_ popularAt: Int64) throws {
        let f = try StoreFixture()
        try f.fillShop()
        f.service.popularTermSessions = popularAt
        #expect(Set(try f.ids("/v1/sessions?page=/")) == ["v-alice", "v-bob"])
        #expect(try f.ids("/v1/sessions?page=/check*&app=shop") == ["v-alice"])
        #expect(try f.ids("/v1/sessions?action=search&sort=duration") == ["v-bob"])
        #expect(try f.ids("/v1/sessions?prop.items=3") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?app=shop&not.page=/")) == ["v-carol"])
        #expect(Set(try f.ids("/v1/sessions?page=/pricing&page=/checkout")) == ["v-alice", "v-carol"])
    }

    @Test func userTagFindsTheVisitorsAnonymousSessionsToo() throws {
        let f = try StoreFixture()
        try f.fillShop()
        #expect(try f.ids("/v1/users/alice%40example.com/sessions") == ["v-alice"])
        #expect(try f.ids("/v1/sessions?user=alice@example.com") == ["v-alice"])
        #expect(Set(try f.ids("/v1/sessions?user=&app=shop")) == ["v-bob", "v-carol"])
        #expect(try f.ids("/v1/visitors/v-bob/sessions") == ["v-bob"])
        #expect(try f.ids("/v1/users/nobody/sessions").isEmpty)
        let (_, body, _) = try f.get("/v1/sessions?visitor=v-alice")
        let row = try #require((body["sessions"] as? [[String: Any]])?.first)
        #expect(row["user"] as? String == "alice@example.com")
    }

    @Test func sessionTimelineWaterfallAndError() throws {
        let f = try StoreFixture()
        try f.fillShop()
        let (_, list, _) = try f.get("/v1/sessions?visitor=v-alice")
        let id = try #require((list["sessions"] as? [[String: Any]])?.first?["id"] as? String)
        let (status, s, _) = try f.get("/v1/sessions/\(id)")
        #expect(status == 200)
        #expect(s["id"] as? String == id)
        #expect((s["counts"] as? [String: Any])?["errors"] as? Int == 1)
        #expect((s["healthReasons"] as? [String: Any])?["failedResources"] as? Int == 1)
        let timeline = try #require(s["timeline"] as? [[String: Any]])
        #expect(timeline.map { $0["id"] as? String } == ["a-v1", "a-a1", "a-x1", "a-v2", "a-e1"])
        #expect(timeline[1]["offset"] as? Int == 1000)
        #expect((timeline[1]["children"] as? [[String: Any]])?.first?["id"] as? String == "a-r1")
        #expect(s["nextSessionId"] is NSNull)

        let (ws, w, _) = try f.get("/v1/sessions/\(id)/waterfall?event=a-v1")
        #expect(ws == 200)
        #expect((w["entries"] as? [[String: Any]])?.map { $0["id"] as? String } == ["a-r1", "a-x1"])
        #expect((w["totals"] as? [String: Any])?["failedResources"] as? Int == 1)

        let (es, e, _) = try f.get("/v1/sessions/\(id)/errors/a-e1")
        #expect(es == 200)
        #expect(e["stack"] as? String == "at pay (checkout.js:12)")
        #expect((e["view"] as? [String: Any])?["id"] as? String == "a-v2")

        #expect(try f.get("/v1/sessions/\(id)/errors/a-v1").0 == 404)
        #expect(try f.get("/v1/sessions/\(id)/waterfall?event=missing").0 == 404)
        #expect(try f.get("/v1/sessions/\(id)/waterfall").0 == 400)
        #expect(try f.get("/v1/sessions/\(id)/waterfall?event=a-e1").1["error"] != nil)
        #expect(try f.get("/v1/sessions/0123456789abcdef0123456789abcdef").0 == 404)
        #expect(try f.get("/v1/sessions/\(id)?x=1").0 == 400)
    }

    @Test func completedSessionsAndNextSession() throws {
        let f = try StoreFixture()
        try f.fillShop()
        f.now = StoreFixture.t0 + 40 * 60_000
        _ = try f.store.advance(watermark: f.now, now: f.now)
        #expect(Set(try f.ids("/v1/sessions?status=completed&endReason=inactivity&app=shop")) == ["v-alice", "v-bob", "v-carol"])
        let t = StoreFixture.t0 + 41 * 60_000
        try f.apply([Beacon(app: "shop", platform: .web, visitor: "v-carol", session: "c3", sentAt: t, receivedAt: t,
                            events: [Event(id: "c-v2", type: .view, ts: t, duration: 10, name: "Again", url: "/again")])])
        let (_, list, _) = try f.get("/v1/visitors/v-carol/sessions?order=asc")
        let rows = try #require(list["sessions"] as? [[String: Any]])
        #expect(rows.count == 2)
        let first = try #require(rows.first?["id"] as? String)
        let second = try #require(rows.last?["id"] as? String)
        #expect(rows.last?["previousSessionId"] as? String == first)
        #expect(try f.get("/v1/sessions/\(first)").1["nextSessionId"] as? String == second)
        #expect(try f.ids("/v1/sessions?status=live&app=shop") == ["v-carol"])
    }

    @Test func countsAndStats() throws {
        let f = try StoreFixture()
        try f.fillShop()
        let (_, live, _) = try f.get("/v1/users/live")
        #expect(live["count"] as? Int == 4)
        #expect((live["apps"] as? [String: Int]) == ["shop": 3, "mob": 1])
        #expect(try f.get("/v1/users/live?app=shop&app=none").1["apps"] as? [String: Int] == ["shop": 3, "none": 0])
        let (_, active, _) = try f.get("/v1/users/active?window=60s")
        #expect(active["count"] as? Int == 4)
        f.now += 10 * 60_000
        #expect(try f.get("/v1/users/active?window=60s").1["count"] as? Int == 0)
        #expect(try f.get("/v1/users/active?window=1h").1["count"] as? Int == 4)

        let from = StoreFixture.t0 - 60_000
        let (status, stats, _) = try f.get("/v1/stats?app=shop&from=\(from)&to=\(from + 3_600_000)&interval=10m")
        #expect(status == 200)
        #expect(stats["sessions"] as? Int == 3)
        #expect((stats["series"] as? [[String: Any]])?.count == 7)
        #expect((stats["health"] as? [String: Int]) == ["tolerable": 1, "abnormal": 2])
        let topErrors = try #require(stats["topErrors"] as? [[String: Any]])
        #expect(topErrors.first?["key"] as? String == "TypeError: total is undefined")
        #expect(topErrors.first?["count"] as? Int == 2)
        #expect((stats["topEntryPages"] as? [[String: Any]])?.first?["key"] as? String == "/")
        let (_, partial, _) = try f.get("/v1/stats/partial?app=shop&from=\(from)&to=\(from + 3_600_000)&interval=10m")
        #expect((partial["errors"] as? [String: Int])?["RangeError"] == 1)
    }

    @Test func statsCountTheStoredOrphanHeartbeatsOnceOfTheAskedAppsAndRange() throws {
        let f = try StoreFixture()
        let t = StoreFixture.t0
        func heartbeats(_ app: String, _ visitor: String, _ offsets: [Int64]) -> Beacon {
            Beacon(app: app, platform: .web, visitor: visitor, sentAt: t, receivedAt: t,
                   events: offsets.map { Event(id: "h\($0)", type: .heartbeat, ts: t + $0) })
        }
        try f.apply([heartbeats("shop", "idle", [0, 30_000]), heartbeats("blog", "idle", [10_000])])
        // A late heartbeat recomputes the visitor, which reports all three again: still three.
        try f.apply([heartbeats("shop", "idle", [20_000])])
        try f.apply([heartbeats("shop", "idle", [7_200_000])])
        let range = "from=\(t - 60_000)&to=\(t + 3_600_000)"
        #expect(try f.get("/v1/stats?app=shop&\(range)").1["orphanHeartbeats"] as? Int == 3)
        #expect(try f.get("/v1/stats?\(range)").1["orphanHeartbeats"] as? Int == 4)
        #expect(try f.get("/v1/stats?not.app=shop&\(range)").1["orphanHeartbeats"] as? Int == 1)
        #expect(try f.get("/v1/stats?app=shop&\(range)").1["sessions"] as? Int == 0)
        #expect(try f.get("/v1/stats/partial?app=shop&\(range)").1["orphanHeartbeats"] as? Int == 3)
    }

    @Test(arguments: ["start", "duration", "errors", "actions"], ["desc", "asc"])
    func pagingWithCursorsReturnsEverySessionOnce(_ sort: String, _ order: String) throws {
        let f = try StoreFixture()
        let t = StoreFixture.t0
        var beacons: [Beacon] = []
        for i in 0..<23 {
            beacons.append(Beacon(app: "shop", platform: .web, visitor: "p\(i)", sentAt: t, receivedAt: t, events: [
                Event(id: "v", type: .view, ts: t + Int64(i % 5) * 1000, duration: Int64(i % 4) * 700, url: "/"),
            ]))
        }
        try f.apply(beacons)
        let existing = try f.ids("/v1/sessions?limit=500").count
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let target = "/v1/sessions?sort=\(sort)&order=\(order)&limit=5" + (cursor.map { "&cursor=\($0)" } ?? "")
            let (status, body, _) = try f.get(target)
            #expect(status == 200)
            seen += (body["sessions"] as? [[String: Any]] ?? []).compactMap { $0["visitor"] as? String }
            cursor = body["nextCursor"] as? String
            pages += 1
            if pages == 2 {
                // Sessions keep arriving and growing between pages: p0, the shortest, becomes
                // the longest (seen first in asc order, last in desc order).
                f.now += 1000
                try f.apply([Beacon(app: "shop", platform: .web, visitor: "late\(sort)\(order)", sentAt: t, receivedAt: t,
                                    events: [Event(id: "v", type: .view, ts: t + 10, duration: 5, url: "/")]),
                             Beacon(app: "shop", platform: .web, visitor: "p0", sentAt: t, receivedAt: t,
                                    events: [Event(id: "grow\(sort)\(order)", type: .view, ts: f.now, duration: 5000, url: "/")])])
            }
        } while cursor != nil && pages < 20
        #expect(seen.count == existing, "\(sort) \(order)")
        #expect(Set(seen).count == existing, "\(sort) \(order): \(seen)")
        #expect(!seen.contains("late\(sort)\(order)"))
    }

    /// Late events move sessions' starts earlier between pages: sorted by start, the first
    /// page's stamp pins every start, so each session comes exactly once (unpinned, asc order
    /// would miss a session that moved before the cursor, desc order would repeat it).
    @Test(arguments: ["asc", "desc"])
    func pagingByStartWhileLateEventsArriveReturnsEverySessionOnce(_ order: String) throws {
        let f = try StoreFixture()
        let t = StoreFixture.t0
        let visitors = (0..<23).map { "p\($0)" }
        try f.apply(visitors.enumerated().map { index, visitor in
            Beacon(app: "shop", platform: .web, visitor: visitor, sentAt: t, receivedAt: t, events: [
                Event(id: "v", type: .view, ts: t + 10_000 + Int64(index) * 1000, url: "/"),
            ])
        })
        func start(_ visitor: String) throws -> Int64? {
            let (_, body, _) = try f.get("/v1/visitors/\(visitor)/sessions?app=shop")
            return ((body["sessions"] as? [[String: Any]])?.first?["startedAt"] as? Int).map(Int64.init)
        }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        // Each page moves the start of a session the other order has not reached yet, or has
        // just passed, to before every other session.
        let movers = order == "asc" ? ["p20", "p21", "p15"] : ["p20", "p21", "p10"]
        repeat {
            let target = "/v1/sessions?app=shop&sort=start&order=\(order)&limit=5" + (cursor.map { "&cursor=\($0)" } ?? "")
            let (status, body, _) = try f.get(target)
            #expect(status == 200, "\(body)")
            seen += (body["sessions"] as? [[String: Any]] ?? []).compactMap { $0["visitor"] as? String }
            cursor = body["nextCursor"] as? String
            if pages < movers.count {
                let mover = movers[pages]
                f.now += 1000
                try f.apply([Beacon(app: "shop", platform: .web, visitor: mover, sentAt: t, receivedAt: t, events: [
                    Event(id: "late\(pages)", type: .view, ts: t + Int64(pages) * 100, url: "/early"),
                ])])
                #expect(try start(mover) == t + Int64(pages) * 100, "the late event moved \(mover)'s start")
            }
            pages += 1
        } while cursor != nil && pages < 20
        #expect(seen.count == visitors.count, "\(order): \(seen)")
        #expect(Set(seen) == Set(visitors), "\(order): \(seen)")
        // A new first page sees the moved starts.
        let (_, fresh, _) = try f.get("/v1/sessions?app=shop&sort=start&order=asc&limit=3")
        #expect((fresh["sessions"] as? [[String: Any]] ?? []).compactMap { $0["visitor"] as? String } == movers)
    }

    @Test func aMergedSessionAnswersWithItsSuccessor() throws {
        let f = try StoreFixture()
        let t = StoreFixture.t0
        func view(_ id: String, _ ts: Int64) -> Beacon {
            Beacon(app: "shop", platform: .web, visitor: "v-m", sentAt: ts, receivedAt: ts,
                   events: [Event(id: id, type: .view, ts: ts, duration: 10, url: "/\(id)")])
        }
        try f.apply([view("m1", t), view("m2", t + 40 * 60_000)])
        let (_, before, _) = try f.get("/v1/visitors/v-m/sessions")
        let ids = (before["sessions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.count == 2)
        // A late event in the gap joins both sessions into one.
        try f.apply([view("m-late", t + 20 * 60_000)])
        let (_, after, _) = try f.get("/v1/visitors/v-m/sessions")
        let survivors = (after["sessions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(survivors.count == 1)
        let survivor = try #require(survivors.first)
        let retired = try #require(ids.first { $0 != survivor })
        let (status, body, response) = try f.get("/v1/sessions/\(retired)/waterfall?event=m1")
        #expect(status == 301)
        #expect((body["error"] as? [String: Any])?["mergedInto"] as? String == survivor)
        #expect(response.headers.first { $0.name == "Location" }?.value == "/v1/sessions/\(survivor)/waterfall?event=m1")
        #expect(try f.get("/v1/sessions/\(survivor)").0 == 200)
    }

    @Test func badParametersAndTimeouts() throws {
        let f = try StoreFixture()
        try f.fillShop()
        let (status, body, _) = try f.get("/v1/sessions?minErrors=many")
        #expect(status == 400)
        #expect((body["error"] as? [String: Any])?["parameter"] as? String == "minErrors")
        let expired = QueryDeadline(checkEvery: 1) { true }
        let (timeoutStatus, timeoutBody, _) = try f.get("/v1/sessions", deadline: expired)
        #expect(timeoutStatus == 503)
        #expect((timeoutBody["error"] as? [String: Any])?["code"] as? String == "timeout")
        // The connection works again once the slow query is gone.
        #expect(try f.get("/v1/sessions").0 == 200)
    }
}
