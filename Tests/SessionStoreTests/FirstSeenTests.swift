import Config
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
