import Model
import Config
import Foundation
import Sessionizer
import Synchronization
@testable import SessionStore
import Testing
import Wire
import Workloads

@Suite struct ApplyTests {
    @Test func batchIsCommittedOnceAndARepeatIsDuplicate() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        let beacon = webBeacon([view("e1", at: t0), action("e2", at: t0 + 1000), action("e3", at: t0 + 2000)])
        let first = try store.apply(batch: batchID(1), beacons: [beacon], now: t0 + 3000)
        #expect(first == ApplyResult(status: .committed, eventsNew: 3, sessionsChanged: 1))
        let rows = try store.allRows()
        #expect(rows.count == 1)
        #expect(rows.first?.eventCount == 3)
        #expect(rows.first?.actions == 2)
        #expect(rows.first?.live == true)
        #expect(rows.first?.revision == 1)

        let again = try store.apply(batch: batchID(1), beacons: [beacon], now: t0 + 4000)
        #expect(again == ApplyResult(status: .duplicate))
        #expect(try store.allRows() == rows)
        #expect(try store.count("events") == 3)
        #expect(try store.count("batch_ranges") == 1)
        #expect(try store.contains(batchID(1)))
        #expect(try !store.contains(batchID(2)))
    }

    /// Group commit: batches applied in one transaction give each its own result and the same
    /// stored sessions as applying them one by one; a repeated id in the group is a duplicate.
    @Test func aGroupOfBatchesStoresWhatTheBatchesOneByOneStore() throws {
        let dir = TempDir()
        let grouped = try openStore(dir.path("grouped.db"))
        let single = try openStore(dir.path("single.db"))
        let batches: [(id: BatchID, beacons: [Beacon])] = [
            (batchID(1), [webBeacon([view("e1", at: t0), action("e2", at: t0 + 1000)])]),
            (batchID(2), [webBeacon([action("e3", at: t0 + 2000)]), webBeacon(visitor: "v2", [view("f1", at: t0)])]),
            (batchID(1), [webBeacon([view("e1", at: t0), action("e2", at: t0 + 1000)])]),
            // Past the 30 min inactivity of v1: a second session.
            (batchID(3), [webBeacon([view("e4", at: t0 + 2000 + 31 * 60_000), action("e2", at: t0 + 1000)])]),
        ]
        let results = try grouped.apply(batches: batches, now: t0 + 5000)
        let oneByOne = try batches.map { try single.apply(batch: $0.id, beacons: $0.beacons, now: t0 + 5000) }
        #expect(results == oneByOne)
        #expect(results.map(\.status) == [.committed, .committed, .duplicate, .committed])
        #expect(results.map(\.eventsNew) == [2, 2, 0, 1])
        #expect(results[3].eventsDuplicate == 1)
        #expect(try grouped.allRows() == single.allRows())
        #expect(try grouped.allRows().map(\.eventCount) == [3, 1, 1])
        #expect(try grouped.count("batch_ranges") == 1, "sequences 1, 2, 3 are one range")
    }

    /// Batch ids are kept as ranges of consecutive sequences per (producer, epoch): a row per
    /// gap, not per batch; every id in a range (and only those) answers `duplicate`.
    @Test func batchIDsAreRangesThatJoinAcrossGapsAndStillDeduplicate() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        var n = 0
        func apply(_ sequence: UInt64, producer: UInt64 = 9, epoch: UInt32 = 1) throws -> ApplyResult.Status {
            n += 1
            return try store.apply(batch: BatchID(producer: producer, epoch: epoch, sequence: sequence),
                                   beacons: [webBeacon([view("e\(n)", at: t0 + Int64(n))])], now: t0 + 1000).status
        }
        func ranges() throws -> [[Int64]] {
            let select = try store.connection.statement(
                "SELECT producer, epoch, first_sequence, last_sequence, events FROM batch_ranges ORDER BY producer, epoch, last_sequence")
            defer { select.reset() }
            var rows: [[Int64]] = []
            while try select.step() { rows.append((0..<5).map { select.int64(Int32($0)) }) }
            return rows
        }
        for sequence: UInt64 in [1, 2, 3, 5, 6, 9] { #expect(try apply(sequence) == .committed) }
        #expect(try ranges() == [[9, 1, 1, 3, 3], [9, 1, 5, 6, 2], [9, 1, 9, 9, 1]])
        // Filling the gap joins both neighbours; ids inside ranges are duplicates, gaps are not.
        #expect(try apply(4) == .committed)
        #expect(try ranges() == [[9, 1, 1, 6, 6], [9, 1, 9, 9, 1]])
        for sequence: UInt64 in [1, 4, 6, 9] { #expect(try apply(sequence) == .duplicate) }
        #expect(try !store.contains(batchID(7)))
        #expect(try !store.contains(batchID(0)))
        // Another epoch and another producer start their own ranges. Sequences are stored as
        // signed 64-bit values: UInt64.max and 0 are neighbours there and join, Int64.max and
        // Int64.max + 1 are its two ends and must not (no range may run backwards).
        #expect(try apply(1, epoch: 2) == .committed)
        #expect(try apply(UInt64.max, producer: 10) == .committed)
        #expect(try apply(0, producer: 10) == .committed)
        #expect(try apply(UInt64(Int64.max), producer: 10) == .committed)
        #expect(try apply(UInt64(Int64.max) + 1, producer: 10) == .committed)
        #expect(try ranges().filter { $0[0] == 10 }.map { [$0[2], $0[3]] } == [[Int64.min, Int64.min], [-1, 0], [Int64.max, Int64.max]])
        #expect(try ranges().count == 6)
        for sequence in [UInt64.max, 0, UInt64(Int64.max), UInt64(Int64.max) + 1] {
            #expect(try store.contains(BatchID(producer: 10, epoch: 1, sequence: sequence)))
        }
        #expect(try !store.contains(BatchID(producer: 10, epoch: 1, sequence: 1)))
    }

    @Test func eventsAreDeduplicatedAcrossBatchesAndWithinOne() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("e1", at: t0), action("e2", at: t0 + 10)])],
                            now: t0)
        let second = try store.apply(
            batch: batchID(2),
            beacons: [webBeacon([view("e1", at: t0), action("e2", at: t0 + 10), action("e3", at: t0 + 20)]),
                      webBeacon([action("e3", at: t0 + 20)])],
            now: t0)
        #expect(second.eventsNew == 1)
        #expect(second.eventsDuplicate == 3)
        #expect(try store.count("events") == 3)
        #expect(try store.allRows().map(\.eventCount) == [3])
        // Same event id of another visitor or app is another event.
        let other = try store.apply(batch: batchID(3),
                                    beacons: [webBeacon(visitor: "v2", [view("e1", at: t0)]),
                                              webBeacon(app: "blog", [view("e1", at: t0)])],
                                    now: t0)
        #expect(other.eventsNew == 2)
    }

    /// SQLite's UNIQUE index compares bytes; "\u{E9}" and "e\u{301}" are two events, and the
    /// session must count both (Swift's String == calls them equal).
    @Test func canonicallyEquivalentIdsAreTwoEventsInTheSession() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let store = try openStore(path)
        let result = try store.apply(batch: batchID(1), beacons: [webBeacon([view("\u{E9}", at: t0),
                                                                            action("e\u{301}", at: t0 + 10)])],
                                     now: t0)
        #expect(result.eventsNew == 2)
        #expect(try store.count("events") == 2)
        #expect(try store.allRows().map(\.eventCount) == [2])
        #expect(try store.allRows().map(\.actions) == [1])
        let replay = try Replay.run(path: path)
        #expect(replay.events == 2)
        #expect(replay.differences == [])
    }

    @Test func userTagLinksEveryVisitorAndEnvelopesRoundTrip() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("e1", at: t0)])], now: t0)
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon(user: "alice", [action("e2", at: t0 + 100)])],
                            now: t0)
        let linked = try store.connection.scalarInt(
            "SELECT count(*) FROM user_links l JOIN visitors v ON v.vid = l.vid WHERE l.user_tag = 'alice' AND v.visitor = 'v1'")
        #expect(linked == 1)
        let history = StoredHistory(connection: store.connection)
        let events = try history.events(app: "shop", visitor: "v1", from: EventKey(ts: .min, id: ""))
        #expect(events.map(\.event.id) == ["e1", "e2"])
        #expect(events.map(\.user) == [nil, "alice"])
        #expect(events.first?.clientSession == "cs-v1")
        #expect(events.first?.device?.browser == "Firefox")
        #expect(events.first?.event == view("e1", at: t0))
    }

    @Test func lateEventMergesTwoSessionsWithRevisionsAndMergedInto() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0)])], now: t0)
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon([view("c", at: t0 + 31 * minute)])],
                            now: t0 + 31 * minute)
        let split = try store.allRows().filter { $0.mergedInto == nil }
        #expect(split.count == 2)
        #expect(split.first?.endReason == "inactivity")
        #expect(split.last?.previousID == split.first?.id)

        let late = try store.apply(batch: batchID(3), beacons: [webBeacon([view("b", at: t0 + 20 * minute)])],
                                   now: t0 + 32 * minute)
        #expect(late.eventsNew == 1)
        let rows = try store.allRows()
        let alive = rows.filter { $0.mergedInto == nil }
        let retired = rows.filter { $0.mergedInto != nil }
        #expect(alive.count == 1)
        #expect(retired.count == 1)
        guard let merged = alive.first, let gone = retired.first else { return }
        #expect(merged.eventCount == 3)
        #expect(merged.live)
        #expect(merged.revision >= 2)
        #expect(gone.mergedInto == merged.id)
        #expect(gone.revision >= 2)
        #expect(Set([merged.id, gone.id]) == Set(split.map(\.id)))
        #expect(try Replay.run(path: store.path).differences == [])
    }

    @Test func advanceCompletesLiveSessionsAndPersistsTheWatermark() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        do {
            let store = try openStore(path)
            _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0), action("b", at: t0 + 5000)])],
                                now: t0)
            #expect(try store.advance(watermark: t0 + 10 * minute, now: t0 + 10 * minute) == 0)
            #expect(try store.allRows().first?.live == true)
            #expect(try store.advance(watermark: t0 + 31 * minute, now: t0 + 31 * minute) == 1)
            let row = try store.allRows().first
            #expect(row?.live == false)
            #expect(row?.endReason == "inactivity")
            #expect(row?.revision == 2)
        }
        let reopened = try openStore(path, seed: 2)
        #expect(reopened.watermark == t0 + 31 * minute)
        #expect(try reopened.allRows().first?.live == false)
    }
}

@Suite struct RecoveryTests {
    @Test func reopeningChangesNoSessionAndKeepsExtendingTheLiveOne() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        var before: [SessionRow] = []
        do {
            let store = try openStore(path)
            for visitor in 0..<20 {
                let events = (0..<5).map { action("e\($0)", at: t0 + Int64(visitor * 1000 + $0 * 100)) }
                _ = try store.apply(batch: batchID(UInt64(visitor)), beacons: [webBeacon(visitor: "v\(visitor)", events)],
                                    now: t0)
            }
            _ = try store.advance(watermark: t0 + 5 * minute, now: t0 + 5 * minute)
            before = try store.allRows()
        }
        let store = try openStore(path, seed: 99)
        #expect(try store.allRows() == before)
        #expect(store.engine.liveSessionCount == 20)
        // The next event of a visitor extends its live session (same id), it does not start one.
        _ = try store.apply(batch: batchID(100), beacons: [webBeacon(visitor: "v3", [action("e9", at: t0 + 6 * minute)])],
                            now: t0 + 6 * minute)
        let after = try store.allRows().filter { $0.visitor == "v3" }
        #expect(after.count == 1)
        #expect(after.first?.id == before.first { $0.visitor == "v3" }?.id)
        #expect(after.first?.eventCount == 6)
        #expect(after.first?.revision == 2)
        #expect(try Replay.run(path: path).differences == [])
    }

    @Test func aFailedBatchLeavesNothingAndTheSessionizerInStepWithTheFile() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0)])], now: t0)
        // A trigger makes the batch-id insert (the last step of apply) fail after the sessionizer ran.
        try store.connection.execute(
            "CREATE TEMP TRIGGER fail_batches BEFORE INSERT ON batch_ranges BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        #expect(throws: StoreError.self) {
            try store.apply(batch: batchID(2), beacons: [webBeacon([action("b", at: t0 + 1000)])], now: t0)
        }
        try store.connection.execute("DROP TRIGGER fail_batches")
        #expect(try store.count("events") == 1)
        #expect(try store.allRows().map(\.eventCount) == [1])
        let retried = try store.apply(batch: batchID(2), beacons: [webBeacon([action("b", at: t0 + 1000)])], now: t0)
        #expect(retried.eventsNew == 1)
        #expect(try store.allRows().map(\.eventCount) == [2])
        #expect(try Replay.run(path: store.path).differences == [])
    }
}

@Suite struct MigrationTests {
    @Test func aNewFileRecordsEveryMigrationInOrder() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        let applied = try Database.appliedMigrations(store.connection)
        #expect(applied.map(\.0) == Schema.all.map(\.version))
        #expect(try Database.appliedVersion(store.connection) == Schema.currentVersion)
        #expect(try store.connection.scalarText("PRAGMA journal_mode") == "wal")
        #expect(try store.connection.scalarInt("PRAGMA synchronous") == 1)
        #expect(try store.connection.scalarInt("PRAGMA secure_delete") == 1)
    }

    /// Migration 3 turns a file's per-batch rows into ranges of consecutive sequences.
    @Test func batchIDRowsOfAnOlderFileBecomeRanges() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        do {
            let connection = try Connection(path: path)
            try connection.execute(
                "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
            for migration in Schema.all where migration.version <= 2 {
                try connection.execute(migration.sql)
                try connection.execute("INSERT INTO schema_migrations VALUES (\(migration.version), '\(migration.name)', 0)")
            }
            for (producer, sequence, at) in [(9, 1, 10), (9, 2, 20), (9, 3, 15), (9, 7, 30), (4, 1, 5)] {
                try connection.execute("INSERT INTO batches VALUES (\(producer), 1, \(sequence), \(at), \(sequence * 10))")
            }
        }
        let store = try openStore(path)
        let select = try store.connection.statement("""
            SELECT producer, first_sequence, last_sequence, committed_at, events FROM batch_ranges
            ORDER BY producer, last_sequence
            """)
        defer { select.reset() }
        var rows: [[Int64]] = []
        while try select.step() { rows.append((0..<5).map { select.int64(Int32($0)) }) }
        #expect(rows == [[4, 1, 1, 5, 10], [9, 1, 3, 20, 60], [9, 7, 7, 30, 70]])
        #expect(try store.contains(batchID(2)) && !store.contains(batchID(4)))
        #expect(try store.connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'batches'") == 0)
    }

    @Test func fullDurabilityIsSynchronousFull() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"), options: StoreOptions(durability: .full))
        #expect(try store.connection.scalarInt("PRAGMA synchronous") == 2)
    }

    @Test func reopeningAppliesNothingTwice() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        do { _ = try openStore(path) }
        let store = try openStore(path)
        #expect(try store.count("schema_migrations") == Schema.all.count)
    }

    @Test func aNewerSchemaIsRefusedWithAClearError() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        do {
            let store = try openStore(path)
            try store.connection.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (\(Schema.currentVersion + 1), 'future', 0)")
        }
        #expect(throws: StoreError.schemaTooNew(path: path, found: Schema.currentVersion + 1,
                                                supported: Schema.currentVersion)) {
            _ = try openStore(path)
        }
        #expect(throws: StoreError.schemaTooNew(path: path, found: Schema.currentVersion + 1,
                                                supported: Schema.currentVersion)) {
            _ = try Database.openReader(path: path)
        }
        let message = StoreError.schemaTooNew(path: path, found: 2, supported: 1).description
        #expect(message.contains("newer Clickpath"))
    }
}

@Suite struct RetentionTests {
    @Test func oldCompletedSessionsGoInSmallTransactionsLiveOnesStay() throws {
        let dir = TempDir()
        let options = StoreOptions(retention: 35 * 24 * hour, retentionRowsPerTransaction: 10)
        let store = try openStore(dir.path("s.db"), options: options)
        // 12 visitors with one old completed session of 4 events each, one recent live session.
        for visitor in 0..<12 {
            let events = (0..<4).map { action("old\($0)", at: t0 + Int64(visitor * 100 + $0)) }
            _ = try store.apply(batch: batchID(UInt64(visitor)), beacons: [webBeacon(visitor: "v\(visitor)", events)],
                                now: t0)
        }
        _ = try store.advance(watermark: t0 + hour, now: t0 + hour)
        let later = t0 + 40 * 24 * hour
        _ = try store.advance(watermark: later, now: later)
        _ = try store.apply(batch: batchID(100),
                            beacons: [webBeacon(visitor: "v0", [action("new", at: later), action("new2", at: later + 10)])],
                            now: later)
        #expect(try store.count("sessions") == 13)
        let result = try store.runRetention(now: later)
        #expect(result.sessions == 12)
        #expect(result.events == 48)
        // 10 rows per transaction: each old session costs 5 rows, so two per transaction.
        #expect(result.transactions == 6)
        #expect(result.finished)
        let remaining = try store.allRows()
        #expect(remaining.count == 1)
        #expect(remaining.first?.live == true)
        #expect(try store.count("events") == 2)
        #expect(try store.count("session_terms") > 0)
        #expect(try store.connection.scalarInt(
            "SELECT count(*) FROM session_terms WHERE sid NOT IN (SELECT sid FROM sessions)") == 0)
        #expect(try Replay.run(path: store.path).differences == [])
    }

    /// A session larger than the per-transaction budget loses its events in chunks of the
    /// budget, one transaction each; its row goes with the last chunk.
    @Test func aLargeOldSessionIsDeletedInBoundedChunks() throws {
        let dir = TempDir()
        let options = StoreOptions(retention: 35 * 24 * hour, retentionRowsPerTransaction: 10)
        let store = try openStore(dir.path("s.db"), options: options)
        let events = (0..<25).map { action("big\($0)", at: t0 + Int64($0)) }
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon(events)], now: t0)
        let later = t0 + 40 * 24 * hour
        _ = try store.advance(watermark: later, now: later)
        let first = try store.runRetention(now: later, maxTransactions: 1)
        #expect(first == SessionStore.RetentionResult(sessions: 0, events: 10, transactions: 1, finished: false))
        #expect(try store.count("events") == 15)
        #expect(try store.count("sessions") == 1)
        let rest = try store.runRetention(now: later)
        #expect(rest == SessionStore.RetentionResult(sessions: 1, events: 15, transactions: 2, finished: true))
        #expect(try store.count("events") == 0)
        #expect(try store.count("sessions") == 0)
        #expect(try store.count("session_terms") == 0)
    }

    @Test func batchIDsAreForgottenAfterTheirRetention() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"), options: StoreOptions(batchIDRetention: 7 * 24 * hour))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0)])], now: t0)
        _ = try store.apply(batch: batchID(3), beacons: [webBeacon([view("b", at: t0 + 1)])], now: t0 + 6 * 24 * hour)
        #expect(try store.pruneBatchIDs(now: t0 + 7 * 24 * hour + 1) == 1)
        #expect(try !store.contains(batchID(1)))
        #expect(try store.contains(batchID(3)))
        // A range that is still growing keeps its older ids: it is forgotten once its newest
        // commit is older than the retention (ids are remembered at least that long).
        _ = try store.apply(batch: batchID(4), beacons: [webBeacon([view("c", at: t0 + 2)])], now: t0 + 13 * 24 * hour)
        #expect(try store.pruneBatchIDs(now: t0 + 13 * 24 * hour + 1) == 0)
        #expect(try store.contains(batchID(3)))
        #expect(try store.pruneBatchIDs(now: t0 + 20 * 24 * hour + 1) == 1)
        #expect(try !store.contains(batchID(3)) && !store.contains(batchID(4)))
    }
}

@Suite struct ReplayTests {
    @Test func replayFindsNothingOnAnHonestStoreAndFindsATamperedRow() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        var traffic = SyntheticTraffic(seed: 3, visitors: 40, eventsPerBeacon: 10, millisecondsPerBeacon: 15_000,
                                       returnPercent: 50)
        var beacons = traffic.batch(beacons: 300)
        // Late and out of order: swap beacons a few positions apart, as offline clients do.
        var ids = SeededIDs(state: 5)
        for index in beacons.indices.dropLast(40) where ids.next() % 2 == 0 {
            beacons.swapAt(index, index + Int(ids.next() % 40))
        }
        for sequence in 0..<30 {
            let slice = Array(beacons[(sequence * 10)..<(sequence * 10 + 10)])
            let now = slice.map(\.receivedAt).max() ?? t0
            _ = try store.apply(batch: batchID(UInt64(sequence)), beacons: slice, now: now)
            if sequence % 10 == 9 { _ = try store.advance(watermark: now - 30 * minute, now: now) }
        }
        // Late events that bridge two sessions (merge) and that re-split one, for five visitors.
        for visitor in 0..<5 {
            let name = "bridge\(visitor)"
            let base = t0 + Int64(visitor) * hour
            _ = try store.apply(batch: batchID(1000 + UInt64(visitor)),
                                beacons: [webBeacon(visitor: name, [view("a", at: base), view("c", at: base + 31 * minute)])],
                                now: base + 31 * minute)
            _ = try store.apply(batch: batchID(2000 + UInt64(visitor)),
                                beacons: [webBeacon(visitor: name, [view("b", at: base + 20 * minute)])],
                                now: base + 32 * minute)
        }
        let honest = try Replay.run(path: store.path)
        #expect(honest.differences == [])
        #expect(honest.events == 3015)
        #expect(honest.sessions > honest.visitors, "some visitors must have several sessions")
        let retired = try store.count("sessions WHERE merged_into IS NOT NULL")
        #expect(retired > 0, "the late beacons must have merged sessions")
        #expect(try retired + honest.sessions == store.count("sessions"))
        #expect(try store.count("sessions WHERE revision > 2") > 0)

        try store.connection.execute(
            "UPDATE sessions SET errors = errors + 1 WHERE sid = (SELECT min(sid) FROM sessions)")
        let tampered = try Replay.run(path: store.path)
        #expect(tampered.differences.count == 1)
        #expect(tampered.differences.first?.contains("errors stored") == true)

        try store.connection.execute("UPDATE sessions SET errors = errors - 1 WHERE sid = (SELECT min(sid) FROM sessions)")
        try store.connection.execute("DELETE FROM session_terms WHERE (sid, term_id) = (SELECT sid, term_id FROM session_terms LIMIT 1)")
        let lostTerm = try Replay.run(path: store.path)
        #expect(lostTerm.differences.count == 1)
        #expect(lostTerm.differences.first?.contains("filter terms differ") == true)
    }
}

@Suite struct ErasureTests {
    @Test func erasureRemovesEveryTraceAndTombstonesLateEvents() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let store = try openStore(path)
        let secret = "alice.secret@example.com"
        _ = try store.apply(batch: batchID(1), beacons: [
            webBeacon(visitor: "visitor-of-alice", user: secret,
                      [view("e1", at: t0), action("e2", at: t0 + 10, props: [("email", .string(secret))])]),
            webBeacon(visitor: "bob", [view("e1", at: t0)]),
        ], now: t0)
        let erased = try store.erase(app: "shop", kind: .userTag, id: secret, now: t0 + 1)
        #expect(erased.sessions == 1)
        #expect(erased.events == 2)
        #expect(store.engine.liveSessionCount == 1)
        // Late events of the erased user, or of its visitor anonymously, are dropped.
        let late = try store.apply(batch: batchID(2), beacons: [
            webBeacon(visitor: "visitor-of-alice", [action("e3", at: t0 + 20)]),
            webBeacon(visitor: "someone-else", user: secret, [action("e4", at: t0 + 20)]),
        ], now: t0 + 2)
        #expect(late.eventsDropped == 2)
        #expect(late.eventsNew == 0)
        #expect(try store.count("events") == 1)
        try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for file in [path, path + "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) still holds the erased id")
            #expect(bytes.range(of: Data("visitor-of-alice".utf8)) == nil, "\(file) still holds the erased visitor")
        }
    }
}

@Suite struct CodecTests {
    @Test func eventBodiesRoundTripEveryField() throws {
        let event = Event(id: "x", type: .request, ts: 5, duration: 7, name: "n", url: "u", parent: "p",
                          status: -3, method: "GET", message: "m", stack: "s", fatal: false,
                          timing: [("ttfb", 1.5), ("lcp", -0.0)],
                          props: [("a", .string("b")), ("n", .number(2.25)), ("t", .bool(true)), ("f", .bool(false))])
        var bytes: [UInt8] = []
        EventCodec.encode(event, into: &bytes)
        var decoded = Event(id: "x", type: .request, ts: 5, duration: 7)
        try bytes.withUnsafeBytes { raw in try EventCodec.decode(raw, into: &decoded) }
        #expect(decoded == event)
    }

    @Test(arguments: [[UInt8]([0xff]), [0x01], [0x01, 0x05, 0x61], [0x80, 0x80], [0x00, 0x00], [0x02, 0xff, 0xff, 0xff, 0x0f]])
    func damagedBodiesThrowNeverTrap(bytes: [UInt8]) {
        var event = Event(id: "x", type: .view, ts: 0)
        #expect(throws: StoreError.self) {
            try bytes.withUnsafeBytes { raw in try EventCodec.decode(raw, into: &event) }
        }
    }

    @Test func sha256MatchesTheStandardVectors() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.digest(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// A rule set read back from the file with a number the config loader would refuse is
    /// corruption: replaying with a zero inactivity would split every session.
    @Test(arguments: [
        { (rules: inout SessionRules) in rules.inactivityTimeout = 0 },
        { (rules: inout SessionRules) in rules.maxDuration = -5 },
        { (rules: inout SessionRules) in rules.activeGap = 0 },
        { (rules: inout SessionRules) in rules.apdexThreshold = -1 },
        { (rules: inout SessionRules) in rules.toleratingFactor = 0 },
        { (rules: inout SessionRules) in rules.maxActions = 0 },
        { (rules: inout SessionRules) in rules.satisfiedShare = 0 },
        { (rules: inout SessionRules) in rules.frustratedShare = .nan },
    ] as [@Sendable (inout SessionRules) -> Void])
    func ruleSetsWithNonPositiveNumbersAreCorrupt(_ damage: @Sendable (inout SessionRules) -> Void) {
        var rules = SessionRules.defaults(for: .web)
        damage(&rules)
        let bytes = RulesCodec.encode(rules)
        #expect(throws: StoreError.self) { try bytes.withUnsafeBytes { try RulesCodec.decode($0) } }
    }

    @Test func erasureRefusesAVisitorWithACorruptPlatform() throws {
        let dir = TempDir()
        let store = try openStore(dir.path("s.db"))
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("e1", at: t0)])], now: t0)
        try store.connection.execute("UPDATE visitors SET platform = 77")
        #expect(throws: StoreError.self) { try store.erase(app: "shop", kind: .visitor, id: "v1", now: t0 + 1) }
        // Nothing was erased: the transaction rolled back.
        #expect(try store.count("events") == 1)
    }

    @Test func ruleSetsRoundTrip() throws {
        var custom = SessionRules.defaults(for: .mobile)
        custom.toleratingFactor = 6
        custom.frustratedShare = 0.25
        custom.satisfiedShare = 0.6
        custom.maxActions = 50
        for rules in Platform.allCases.map(SessionRules.defaults(for:)) + [custom] {
            let bytes = RulesCodec.encode(rules)
            #expect(try bytes.withUnsafeBytes { try RulesCodec.decode($0) } == rules)
        }
    }
}

@Suite struct ConfigVersionTests {
    @Test func newRulesAreStoredAsANewConfigVersionAndReplayUsesThem() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        // The provider (a @Sendable closure) sees a config reload through a Mutex.
        let inactivity = Mutex<Int64>(30 * minute)
        let store = try SessionStore(path: path, now: t0, sessionIDs: SeededIDs(state: 1)) { _, platform in
            var rules = SessionRules.defaults(for: platform)
            rules.inactivityTimeout = inactivity.withLock { $0 }
            return rules
        }
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon(visitor: "a", [view("a1", at: t0)])], now: t0)
        inactivity.withLock { $0 = 5 * minute }
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon(visitor: "b", [view("b1", at: t0),
                                                                                view("b2", at: t0 + 6 * minute)])],
                            now: t0 + 6 * minute)
        let rows = try store.allRows()
        #expect(try store.count("rule_sets") == 2)
        #expect(Set(rows.map(\.rulesID)).count == 2)
        // Visitor b was cut at 5 minutes of inactivity: two sessions.
        #expect(rows.filter { $0.visitor == "b" }.count == 2)
        let versions = try store.connection.scalarInt("SELECT count(DISTINCT rules_version) FROM rule_sets")
        #expect(versions == 2)
        #expect(try Replay.run(path: path).differences == [])
    }

    /// A reload must not rewrite a returning visitor's completed session: it keeps the rules it
    /// was made with, and Replay checks it with those.
    @Test func aReloadLeavesCompletedSessionsWithTheirOwnRules() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let inactivity = Mutex<Int64>(30 * minute)
        let store = try SessionStore(path: path, now: t0, sessionIDs: SeededIDs(state: 1)) { _, platform in
            var rules = SessionRules.defaults(for: platform)
            rules.inactivityTimeout = inactivity.withLock { $0 }
            return rules
        }
        _ = try store.apply(batch: batchID(1), beacons: [webBeacon([view("a", at: t0), view("b", at: t0 + 10 * minute)])],
                            now: t0 + 10 * minute)
        _ = try store.advance(watermark: t0 + 45 * minute, now: t0 + 45 * minute)
        let completed = try store.allRows()
        #expect(completed.count == 1)
        #expect(completed.first?.live == false)
        #expect(completed.first?.rulesID == 1)
        inactivity.withLock { $0 = 5 * minute }
        _ = try store.apply(batch: batchID(2), beacons: [webBeacon([view("c", at: t0 + 60 * minute)])],
                            now: t0 + 60 * minute)
        let rows = try store.allRows()
        #expect(rows.count == 2)
        #expect(rows.first == completed.first)
        #expect(rows.map(\.eventCount) == [2, 1])
        #expect(rows.map(\.rulesID) == [1, 2])
        #expect(rows.last?.previousID == completed.first?.id)
        #expect(try Replay.run(path: path).differences == [])
    }
}

@Suite struct CheckpointerTests {
    /// With background checkpoints the writer never checkpoints (automatic checkpoints are off);
    /// the checkpoint thread copies committed pages into the database file on its own.
    @Test func theCheckpointThreadCopiesTheWALIntoTheFile() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let store = try openStore(path, options: StoreOptions(backgroundCheckpoints: true))
        #expect(try store.connection.scalarInt("PRAGMA wal_autocheckpoint") == 0)
        func fileSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil ?? 0 }
        let before = fileSize()
        for n in 0..<20 {
            let events = (0..<50).map { view("e\(n)-\($0)", at: t0 + Int64(n * 50 + $0)) }
            _ = try store.apply(batch: batchID(UInt64(n)), beacons: [webBeacon(visitor: "v\(n)", events)], now: t0)
        }
        var grown = false
        for _ in 0..<200 where !grown {
            usleep(50_000)
            grown = fileSize() > before
        }
        #expect(grown, "the database file only grows through checkpoints: \(before) → \(fileSize()) bytes")
        // The writer's own checkpoint (erasure, shutdown) still empties the WAL.
        try store.checkpoint()
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? nil
        #expect(wal == 0)
    }

    /// Commits back to back with background checkpoints: `boundWAL` between them truncates the
    /// WAL each time it passes half the limit, so it never grows past the limit.
    @Test func boundWALKeepsTheWALUnderItsLimit() throws {
        let dir = TempDir()
        let path = dir.path("s.db")
        let limit: Int64 = 1 << 20
        let store = try openStore(path, options: StoreOptions(backgroundCheckpoints: true, walLimitBytes: limit))
        #expect(try store.connection.scalarInt("PRAGMA journal_size_limit") == limit)
        var truncations = 0
        for n in 0..<300 {
            let events = (0..<40).map { view("e\(n)-\($0)", at: t0 + Int64(n * 40 + $0)) }
            _ = try store.apply(batch: batchID(UInt64(n)), beacons: [webBeacon(visitor: "v\(n)", events)], now: t0)
            #expect(store.walBytes <= limit, "WAL \(store.walBytes) bytes after batch \(n)")
            if try store.boundWAL() == .truncated {
                truncations += 1
                #expect(store.walBytes == 0)
            }
        }
        #expect(truncations >= 2)
    }
}
