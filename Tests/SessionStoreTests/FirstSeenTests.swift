import Config
import Model
import Sessionizer
@testable import SessionStore
import Testing
import Wire

/// Issue #20: a live session's first-seen fields (entry page, device, client session) are the
/// first present value in event order, also when the first beacon lacks them; the stored row
/// is always what the pure `sessionize` gives for the session's events.
@Suite struct FirstSeenTests {
    static let chrome = Device(browser: "Chrome", browserVersion: "130", os: "Linux", deviceType: "desktop",
                               screen: "1920x1080")

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var first: Beacon
        var second: Beacon
        var description: String { name }
    }

    static func beacon(session: String? = nil, device: Device? = nil, _ events: [Event]) -> Beacon {
        Beacon(app: "shop", platform: .web, visitor: "v1", session: session, device: device,
               sentAt: events.last?.ts ?? t0, receivedAt: events.last?.ts ?? t0, events: events)
    }

    static let cases: [Case] = [
        Case(name: "entry page: a request before the first view",
             first: beacon([Event(id: "r1", type: .request, ts: t0 - 2000, url: "https://api.shop.example.com/cart",
                                  status: 200)]),
             second: beacon([Event(id: "w1", type: .view, ts: t0 - 1000, url: "https://shop.example.com/cart/")])),
        Case(name: "device: the first beacon has none",
             first: beacon([Event(id: "e6", type: .request, ts: t0)]),
             second: beacon(device: chrome, [Event(id: "a1", type: .action, ts: t0 + 10, duration: 100)])),
        Case(name: "client session: the first beacon has none",
             first: beacon([Event(id: "e1", type: .custom, ts: t0, name: "boot")]),
             second: beacon(session: "cs-3023be", [Event(id: "e2", type: .view, ts: t0 + 10, name: "home")])),
        Case(name: "everything: resources, errors and custom events first",
             first: beacon([Event(id: "x1", type: .resource, ts: t0, url: "https://cdn.example.com/a.js", status: 200),
                            Event(id: "x2", type: .error, ts: t0 + 5, message: "boom"),
                            Event(id: "x3", type: .custom, ts: t0 + 6, name: "boot")]),
             second: beacon(session: "cs-9", device: chrome,
                            [Event(id: "x4", type: .view, ts: t0 + 20, url: "https://shop.example.com/?q=1")])),
    ]

    /// The stored row, and the row the pure function gives for the stored events.
    func rows(_ store: SessionStore) throws -> (stored: SessionRow, pure: SessionRow) {
        let rows = try store.allRows()
        try #require(rows.count == 1)
        let stored = rows[0]
        let history = StoredHistory(connection: store.connection)
        let vid = try #require(try store.connection.scalarInt("SELECT vid FROM visitors"))
        let events = try history.events(vid: vid, from: EventKey(ts: .min, id: ""), through: nil)
        let drafts = sessionize(events, visitor: "v1", platform: .web, rules: SessionRules.defaults(for: .web),
                                watermark: store.watermark).sessions
        try #require(drafts.count == 1)
        let record = SessionRecord(id: try #require(SessionID(hex: stored.id)), revision: Int(stored.revision),
                                   app: "shop", previousSessionId: nil, summary: drafts[0].summary)
        return (stored, SessionRow(record, rulesID: stored.rulesID))
    }

    @Test(arguments: cases)
    func twoBeaconsStoreWhatThePureFunctionGives(_ scenario: Case) throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [scenario.first], now: t0)
        _ = try store.apply(batch: batchID(2), beacons: [scenario.second], now: t0 + 100)
        let (stored, pure) = try rows(store)
        #expect(stored.live)
        #expect(stored == pure, "\(Replay.describe(stored: stored, expected: pure))")
        #expect(try Replay.run(path: store.path).differences == [])
        // Reopened (the sessionizer's live state rebuilt from the file), a third beacon grows it.
        let reopened = try openStore(dir.path("s.db"))
        _ = try reopened.apply(batch: batchID(3), beacons: [Self.beacon([Event(id: "z9", type: .custom, ts: t0 + 500)])],
                               now: t0 + 600)
        let (grown, pureGrown) = try rows(reopened)
        #expect(grown == pureGrown, "\(Replay.describe(stored: grown, expected: pureGrown))")
    }

    /// The stored row after applying the case's two beacons in two batches.
    func storedRow(_ scenario: Case) throws -> (SessionRow, Int64?) {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [scenario.first], now: t0)
        _ = try store.apply(batch: batchID(2), beacons: [scenario.second], now: t0 + 100)
        let found = try store.connection.scalarInt(
            "SELECT count(*) FROM sessions WHERE browser = 'Chrome' AND os = 'Linux' AND device_type = 'desktop'")
        return (try #require(try store.allRows().first), found)
    }

    @Test func theIssueExamplesGiveTheFirstPresentValues() throws {
        let (entry, _) = try storedRow(Self.cases[0])
        #expect(entry.entryPage == "https://shop.example.com/cart/")
        #expect(entry.exitPage == "https://shop.example.com/cart/")
        #expect(entry.views == 1)
        let (device, foundByDevice) = try storedRow(Self.cases[1])
        #expect(device.device == Self.chrome)
        #expect(foundByDevice == 1, "the browser, os and device type filters find the session")
        let (client, _) = try storedRow(Self.cases[2])
        #expect(client.clientSession == "cs-3023be")
    }
}

/// The same through the real store, for visits of every platform whose first beacons carry no
/// view and no envelope fields, in several beacons, some late, across a reopen: replay (the pure
/// function over the stored events) finds no difference in any field.
@Suite struct StoredFirstSeenPropertyTests {
    static let apps: [(app: String, platform: Platform)] = [("web", .web), ("mob", .mobile), ("mini", .miniProgram),
                                                             ("srv", .custom)]

    static func visit(_ number: Int, platform: Platform, start: Int64, _ random: inout SeededIDs) -> [Beacon] {
        func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let app = apps.first { $0.platform == platform }!.app
        var ts = start
        var events: [(Event, bare: Bool)] = []
        var counter = 0
        func add(_ type: EventType, duration: Int64? = nil, url: String? = nil, name: String? = nil,
                 status: Int32? = nil, bare: Bool) {
            counter += 1
            ts += Int64(below(4000))
            events.append((Event(id: "n\(number)-\(counter)", type: type, ts: ts, duration: duration, name: name,
                                 url: url, status: status), bare))
        }
        if platform == .mobile || platform == .miniProgram { add(.appStart, bare: true) }
        for _ in 0..<below(5) {
            switch below(4) {
            case 0: add(.request, duration: 50, url: "https://api.example.com/boot", status: 200, bare: true)
            case 1: add(.resource, url: "https://cdn.example.com/app.js", status: 404, bare: true)
            case 2: add(.error, bare: true)
            default: add(.custom, name: "boot", bare: true)
            }
        }
        for _ in 0..<(1 + below(12)) {
            switch below(6) {
            case 0 where platform != .custom, 1 where platform != .custom:
                add(.view, duration: Int64(below(9000)), url: "https://\(app).example.com/p\(below(5))?x=1", bare: false)
            case 2, 3: add(.action, duration: below(3) == 0 ? nil : Int64(below(14_000)), name: "tap", bare: false)
            case 4: add(.request, duration: 50, url: "https://api.example.com/x", status: [200, 500, 0][below(3)],
                        bare: false)
            default: add(.custom, name: "c", bare: false)
            }
        }
        let device = Device(browser: "Chrome", os: "Linux", deviceType: "desktop", appVersion: "2.\(number % 3)")
        var beacons: [Beacon] = []
        var rest = events[...]
        while !rest.isEmpty {
            let size = 1 + below(4)
            let chunk = Array(rest.prefix(size))
            rest = rest.dropFirst(size)
            // A beacon's envelope: none while it holds only the bare lead-in.
            let bare = chunk.allSatisfy(\.bare)
            beacons.append(Beacon(app: app, platform: platform, visitor: "p\(number)",
                                  session: bare || platform != .web ? nil : "cs-\(number)",
                                  user: bare ? nil : "user\(number % 4)", device: bare ? nil : device,
                                  sentAt: chunk.last!.0.ts, receivedAt: chunk.last!.0.ts, events: chunk.map(\.0)))
        }
        return beacons
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func storedSessionsAreWhatThePureFunctionGives(seed: UInt64) throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        var random = SeededIDs(state: seed)
        var beacons: [Beacon] = []
        for number in 0..<120 {
            beacons += Self.visit(number, platform: Self.apps[number % 4].platform,
                                  start: t0 + Int64(number) * 700, &random)
        }
        // Mostly in order, some late.
        for index in beacons.indices where random.next() % 5 == 0 {
            beacons.swapAt(index, min(beacons.count - 1, index + Int(random.next() % 12)))
        }
        var store: SessionStore? = try openStore(path, seed: seed)
        var sequence: UInt64 = 0
        for start in stride(from: 0, to: beacons.count, by: 9) {
            sequence += 1
            let slice = Array(beacons[start..<min(beacons.count, start + 9)])
            let now = slice.map(\.receivedAt).max() ?? t0
            _ = try store!.apply(batch: batchID(sequence), beacons: slice, now: now)
            if sequence % 10 == 0 { _ = try store!.advance(watermark: now - 20 * minute, now: now) }
            if sequence == 20 { store = try openStore(path, seed: seed + 100) }
        }
        let live = try store!.count("sessions WHERE live = 1 AND merged_into IS NULL")
        #expect(live > 0, "some sessions must still be live (growing by the narrow update)")
        let report = try Replay.run(path: path)
        #expect(report.differenceCount == 0, "\(report.differences.prefix(5).joined(separator: "\n"))")
        #expect(report.sessions >= 120)
        let fromLaterEvents = try store!.count("""
            sessions s WHERE merged_into IS NULL AND device IS NOT NULL AND (SELECT env FROM events e
                WHERE e.vid = s.vid AND e.event_id = s.first_event_id) IN (SELECT env FROM envelopes WHERE body = X'00')
            """)
        #expect(fromLaterEvents > 20, "sessions whose device came after their first event")
    }
}
