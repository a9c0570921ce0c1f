import Config
import Model
import Foundation
import Sessionizer
@testable import SessionStore
import Testing
import Wire

/// Orphan heartbeats are stored state (issue #13) and `clickpath replay` checks every field of
/// every session and where every stored event belongs (issue #20).
@Suite struct OrphanHeartbeatTests {
    static func beacon(visitor: String = "v1", _ events: [Event]) -> Beacon {
        webBeacon(visitor: visitor, events)
    }

    static func heartbeat(_ id: String, at ts: Int64) -> Event { Event(id: id, type: .heartbeat, ts: ts) }

    func orphans(_ store: SessionStore) throws -> [String] {
        let select = try store.connection.statement("SELECT event_id FROM orphan_heartbeats ORDER BY ts, event_id")
        defer { select.reset() }
        var ids: [String] = []
        while try select.step() { ids.append(select.text(0)) }
        return ids
    }

    @Test func anOrphanIsStoredOnceAndForgottenWhenALateEventPlacesIt() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        // A session ended by the app; the heartbeat after it keeps nothing alive.
        _ = try store.apply(batch: batchID(1), beacons: [Self.beacon([
            view("a", at: t0), Event(id: "b", type: .sessionEnd, ts: t0 + 1000), Self.heartbeat("h", at: t0 + 3000),
        ])], now: t0 + 3000)
        #expect(try orphans(store) == ["h"])
        // Heartbeats only, never a session; a late one recomputes the visitor and reports all again.
        _ = try store.apply(batch: batchID(2), beacons: [Self.beacon(visitor: "hb", [Self.heartbeat("h1", at: t0),
                                                                           Self.heartbeat("h3", at: t0 + 2000)])],
                            now: t0 + 3000)
        _ = try store.apply(batch: batchID(3), beacons: [Self.beacon(visitor: "hb", [Self.heartbeat("h2", at: t0 + 1000)])],
                            now: t0 + 3000)
        #expect(try orphans(store).sorted() == ["h", "h1", "h2", "h3"])
        var report = try Replay.run(path: store.path)
        #expect(report.differences == [])
        #expect(report.orphanHeartbeats == 4)

        // A late view after the end of the first session opens a session that the heartbeat joins.
        _ = try store.apply(batch: batchID(4), beacons: [Self.beacon([view("c", at: t0 + 2000)])], now: t0 + 4000)
        #expect(try orphans(store).sorted() == ["h1", "h2", "h3"])
        report = try Replay.run(path: store.path)
        #expect(report.differences == [])
        #expect(report.orphanHeartbeats == 3)

        // Erasure takes the visitor's orphans with it.
        _ = try store.erase(app: "shop", kind: .visitor, id: "hb", now: t0 + 5000)
        #expect(try orphans(store) == [])
        #expect(try Replay.run(path: store.path).differences == [])
    }

    @Test func retentionDeletesTheOrphansBeforeAnOldSession() throws {
        let dir = TempDir()
        var options = StoreOptions()
        options.retention = 24 * hour
        let store = try openStore(dir.path("s.db"), options: options)
        _ = try store.apply(batch: batchID(1), beacons: [Self.beacon([
            view("a", at: t0), Event(id: "b", type: .sessionEnd, ts: t0 + 1000), Self.heartbeat("h", at: t0 + 2000),
            view("c", at: t0 + 3000),
        ])], now: t0 + 3000)
        #expect(try orphans(store) == ["h"])
        _ = try store.advance(watermark: t0 + 2 * hour, now: t0 + 2 * hour)
        _ = try store.runRetention(now: t0 + 3 * 24 * hour)
        #expect(try store.count("sessions") == 0)
        #expect(try orphans(store) == [])
    }

    /// Migration 4 finds the orphans of a file written before it, also of one that already has
    /// migration 5 (made at the same time on another branch): every unrecorded migration applies.
    @Test func theMigrationFindsTheOrphansOfAnOlderFile() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        do {
            let store = try openStore(path)
            _ = try store.apply(batch: batchID(1), beacons: [Self.beacon([
                view("a", at: t0), Event(id: "b", type: .sessionEnd, ts: t0 + 1000), Self.heartbeat("h", at: t0 + 2000),
                Self.heartbeat("i", at: t0 + 2500), view("c", at: t0 + 3000), Self.heartbeat("j", at: t0 + 4000),
            ])], now: t0 + 4000)
            #expect(try orphans(store) == ["h", "i"])
            try store.connection.execute("DROP TABLE orphan_heartbeats; DELETE FROM schema_migrations WHERE version = 4")
        }
        let reopened = try openStore(path)
        #expect(try orphans(reopened) == ["h", "i"])
        #expect(try Replay.run(path: path).differences == [])
    }
}

@Suite struct ReplayReportTests {
    /// A store with a few sessions of several visitors, one orphan heartbeat among them.
    func filledStore(_ dir: TempDir) throws -> SessionStore {
        let store = try openStore(dir.path("s.db"))
        for visitor in 0..<6 {
            let base = t0 + Int64(visitor) * 1000
            _ = try store.apply(batch: batchID(UInt64(visitor)), beacons: [webBeacon(visitor: "v\(visitor)", [
                view("a", at: base), action("b", at: base + 100), Event(id: "c", type: .sessionEnd, ts: base + 200),
                OrphanHeartbeatTests.heartbeat("h", at: base + 300), view("d", at: base + 400, page: "/cart"),
            ])], now: base + 500)
        }
        return store
    }

    @Test func everyDifferingFieldIsNamed() throws {
        let dir = TempDir()
        let store = try filledStore(dir)
        #expect(try Replay.run(path: store.path).differences == [])
        try store.connection.execute("""
            UPDATE sessions SET entry_page = NULL, client_session = 'other', device = NULL, browser = NULL,
                pages_visited = X'00', last_rating = 'tolerating', active_time = active_time + 1,
                satisfied_ratings = 7, continued = 1, rules_id = rules_id, fingerprint = fingerprint + 1
            WHERE sid = (SELECT min(sid) FROM sessions)
            """)
        let report = try Replay.run(path: store.path)
        #expect(report.differenceCount == 1)
        let line = try #require(report.differences.first)
        for field in ["entryPage stored null, recomputed \"https://shop.example.com/home\"",
                      "clientSession stored \"other\", recomputed \"cs-v0\"", "device stored null",
                      "pagesVisited stored []", "lastRating stored \"tolerating\"", "activeTime stored",
                      "satisfiedRatings stored 7", "continued stored true, recomputed false", "fingerprint stored"] {
            #expect(line.contains(field), "\(field) missing from: \(line)")
        }
        #expect(!line.contains("rulesID"))
        #expect(!line.contains("other fields"))
    }

    @Test func everyDifferenceIsCountedAndTheFirstOnesListed() throws {
        let dir = TempDir()
        let store = try filledStore(dir)
        try store.connection.execute("UPDATE sessions SET errors = errors + 1")
        let sessions = try store.count("sessions")
        #expect(sessions == 12)
        let report = try Replay.run(path: store.path, limit: 5)
        #expect(report.differenceCount == sessions)
        #expect(report.differences.count == 5)
        #expect(report.differences.allSatisfy { $0.contains("errors stored 1, recomputed 0") })
    }

    @Test func everyStoredEventIsInOneSessionOrAStoredOrphan() throws {
        let dir = TempDir()
        let store = try filledStore(dir)
        #expect(try Replay.run(path: store.path).orphanHeartbeats == 6)
        let vid = try #require(try store.connection.scalarInt("SELECT vid FROM visitors WHERE visitor = 'v0'"))
        let vid1 = try #require(try store.connection.scalarInt("SELECT vid FROM visitors WHERE visitor = 'v1'"))
        // An orphan forgotten, an event of a session stored as an orphan, an orphan without its event.
        try store.connection.execute("""
            DELETE FROM orphan_heartbeats WHERE vid = \(vid);
            INSERT INTO orphan_heartbeats SELECT vid, ts, event_id FROM events WHERE vid = \(vid1) AND event_id = 'b';
            INSERT INTO orphan_heartbeats VALUES (\(vid1), \(t0), 'ghost');
            """)
        let report = try Replay.run(path: store.path)
        let lines = report.differences.joined(separator: "\n")
        #expect(lines.contains("visitor v0 event h (heartbeat at \(t0 + 300)): belongs to no session and is not stored as an orphan heartbeat"), "\(lines)")
        #expect(lines.contains("visitor v0 heartbeat \(t0 + 300)/h: an orphan when recomputed, not stored as one"), "\(lines)")
        #expect(lines.contains("visitor v1 event b (action at \(t0 + 1100)): in session"), "\(lines)")
        #expect(lines.contains("visitor v1 orphan heartbeat ghost at \(t0): stored, but no such event is"), "\(lines)")
        #expect(report.differenceCount == 4)
        // Two sessions claiming one event.
        try store.connection.execute("""
            DELETE FROM orphan_heartbeats WHERE vid = \(vid1) AND event_id IN ('b', 'ghost');
            INSERT INTO orphan_heartbeats SELECT vid, ts, event_id FROM events WHERE vid = \(vid) AND event_id = 'h';
            UPDATE sessions SET start_ts = \(t0 + 100), first_event_id = 'b' WHERE vid = \(vid)
                AND first_event_id = 'd'
            """)
        let overlapping = try Replay.run(path: store.path).differences.joined(separator: "\n")
        #expect(overlapping.contains("visitor v0 event b (action at \(t0 + 100)): in 2 sessions"), "\(overlapping)")
    }
}
