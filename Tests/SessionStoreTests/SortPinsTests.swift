import Foundation
@testable import SessionStore
import Testing

@Suite struct SortPinsTests {
    final class Clock: @unchecked Sendable { var now: Int64 = 1000 }

    @Test func recordsOnlyWhileActive() throws {
        let dir = NSTemporaryDirectory() + "pins-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        let pins = SortPins(lifetime: 3_600_000) { clock.now }
        let connection = try Connection(path: dir + "/p.db")
        try connection.execute("CREATE TABLE sessions(sid INTEGER PRIMARY KEY, start_ts INTEGER, merged_into TEXT, duration INTEGER, errors INTEGER, actions INTEGER, updated_at INTEGER)")
        // The pins table comes from the store's migrations 2 and 5, the trigger from `install`.
        for migration in Schema.all where [2, 5].contains(migration.version) { try connection.execute(migration.sql) }
        try pins.install(on: connection)
        try connection.execute("INSERT INTO sessions VALUES (1, 0, NULL, 10, 0, 0, 1)")
        try connection.execute("UPDATE sessions SET duration = 20, updated_at = 2 WHERE sid = 1")
        #expect(try connection.scalarInt("SELECT count(*) FROM session_pins") == 0)
        pins.activate()
        #expect(pins.isActive)
        try connection.execute("UPDATE sessions SET duration = 30, updated_at = 3 WHERE sid = 1")
        try connection.execute("UPDATE sessions SET updated_at = 4 WHERE sid = 1")
        #expect(try connection.scalarInt("SELECT count(*) FROM session_pins") == 1)
        #expect(try connection.scalarInt("SELECT duration FROM session_pins WHERE until_ts = 3") == 20)
        // A late event moves the start (duration unchanged here): the old start is kept.
        try connection.execute("UPDATE sessions SET start_ts = -5, updated_at = 6 WHERE sid = 1")
        #expect(try connection.scalarInt("SELECT start_ts FROM session_pins WHERE until_ts = 6") == 0)
        try connection.execute("DELETE FROM session_pins WHERE until_ts = 6")
        clock.now += pins.lifetime + 1
        #expect(!pins.isActive)
        try connection.execute("UPDATE sessions SET duration = 40, updated_at = 5 WHERE sid = 1")
        #expect(try connection.scalarInt("SELECT count(*) FROM session_pins") == 1)
        #expect(try pins.prune(on: connection, now: clock.now) == 1)
    }
}
