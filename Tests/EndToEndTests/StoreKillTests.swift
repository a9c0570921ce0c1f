import Config
import Foundation
@testable import SessionStore
import TestSupport
import Testing
import Workloads
import Wire

/// Kills a real writer process (`crash-writer store-writer`) with SIGKILL in the middle of its
/// batches, several times, and proves the file is consistent and every committed batch is whole.
@Suite(.serialized) struct KillTests {
    /// The `crash-writer` executable built beside this test bundle.
    static func crashWriterBinary() -> String? { builtExecutable("crash-writer") }

    /// Starts the writer, reads `committed N` lines until `commits` arrived, then SIGKILLs it right
    /// after the next `begin N` line, while it applies batch N. Returns the sequences it reported
    /// committed and the sequence it was applying when killed.
    static func runAndKill(binary: String, db: String, commits: Int) throws -> (committed: [UInt64], killedIn: UInt64?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["store-writer", "--db", db]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var reported: [UInt64] = []
        var killedIn: UInt64?
        var pending = ""
        let reader = output.fileHandleForReading
        reading: while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            pending += String(decoding: chunk, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                let line = pending[..<newline]
                pending = String(pending[pending.index(after: newline)...])
                if line.hasPrefix("committed "), let sequence = UInt64(line.dropFirst("committed ".count)) {
                    reported.append(sequence)
                } else if reported.count >= commits, line.hasPrefix("begin "),
                          let sequence = UInt64(line.dropFirst("begin ".count)) {
                    killedIn = sequence
                    kill(process.processIdentifier, SIGKILL)
                    break reading
                }
            }
        }
        if killedIn == nil { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        return (reported, killedIn)
    }

    /// How many events of batch `sequence` the file holds, and how many it has.
    static func eventsOfBatch(_ sequence: UInt64, in connection: Connection) throws -> (stored: Int, total: Int) {
        var traffic = SyntheticTraffic.killTestTraffic()
        for _ in 0..<sequence { _ = traffic.batch(beacons: SyntheticTraffic.killTestBeacons) }
        let query = try connection.statement(
            "SELECT count(*) FROM events e JOIN visitors v ON v.vid = e.vid WHERE v.app = ? AND v.visitor = ? AND e.event_id = ?")
        var stored = 0
        var total = 0
        for beacon in traffic.batch(beacons: SyntheticTraffic.killTestBeacons) {
            for event in beacon.events {
                try query.bind(1, beacon.app)
                try query.bind(2, beacon.visitor)
                try query.bind(3, event.id)
                _ = try query.step()
                stored += Int(query.int64(0))
                query.reset()
                total += 1
            }
        }
        return (stored, total)
    }

    @Test(arguments: [4])
    func sigkillMidBatchLeavesEveryCommittedBatchWhole(kills: Int) throws {
        guard let binary = Self.crashWriterBinary() else {
            Issue.record("crash-writer executable not found beside the tests; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path + "/killed.db"
        var reported: [UInt64] = []
        var cutShort = 0
        for round in 0..<kills {
            let got = try Self.runAndKill(binary: binary, db: db, commits: 15 + 10 * round)
            #expect(!got.committed.isEmpty, "the writer committed nothing in round \(round)")
            reported += got.committed
            guard let killedIn = got.killedIn else {
                Issue.record("round \(round): the writer stopped before a `begin` line")
                continue
            }
            // The batch it was applying is whole (committed before the kill landed) or absent.
            let connection = try Connection(path: db)
            let recorded = try connection.scalarInt(
                """
                SELECT count(*) FROM batch_ranges
                WHERE producer = 1 AND first_sequence <= \(killedIn) AND last_sequence >= \(killedIn)
                """) ?? 0
            let events = try Self.eventsOfBatch(killedIn, in: connection)
            if recorded == 1 {
                #expect(events.stored == events.total, "batch \(killedIn) recorded but partial")
            } else {
                #expect(events.stored == 0, "batch \(killedIn) absent but \(events.stored) of its events stored")
                cutShort += 1
            }
        }
        // At least one kill landed between `begin` and the commit (otherwise nothing was proven).
        #expect(cutShort >= 1)

        let connection = try Connection(path: db)
        #expect(try connection.scalarText("PRAGMA integrity_check") == "ok")
        #expect(try connection.scalarText("PRAGMA foreign_key_check") == nil)
        let stored = Int(try connection.scalarInt(
            "SELECT sum(last_sequence - first_sequence + 1) FROM batch_ranges WHERE producer = 1") ?? 0)
        let highest = try connection.scalarInt("SELECT max(last_sequence) FROM batch_ranges WHERE producer = 1") ?? -1
        // Sequential writer: the stored batches are exactly 0..<stored, a superset of those reported.
        #expect(highest == Int64(stored) - 1)
        #expect(reported.allSatisfy { $0 < UInt64(stored) })
        #expect(Set(reported).count == reported.count, "a restarted writer re-applied a committed batch")

        // Every event of every stored batch is there, and nothing of the batch that was cut short.
        var traffic = SyntheticTraffic.killTestTraffic()
        let eventQuery = try connection.statement(
            "SELECT count(*) FROM events e JOIN visitors v ON v.vid = e.vid WHERE v.app = ? AND v.visitor = ? AND e.event_id = ?")
        var expected = 0
        for _ in 0..<stored {
            for beacon in traffic.batch(beacons: SyntheticTraffic.killTestBeacons) {
                for event in beacon.events {
                    try eventQuery.bind(1, beacon.app)
                    try eventQuery.bind(2, beacon.visitor)
                    try eventQuery.bind(3, event.id)
                    _ = try eventQuery.step()
                    #expect(eventQuery.int64(0) == 1, "event \(event.id) of \(beacon.visitor) missing")
                    eventQuery.reset()
                    expected += 1
                }
            }
        }
        #expect(try connection.scalarInt("SELECT count(*) FROM events") == Int64(expected))
        #expect(try connection.scalarInt("SELECT sum(events) FROM batch_ranges") == Int64(expected))
        // Sessions agree with the events: replay recomputes them all without a difference.
        let replay = try Replay.run(path: db)
        #expect(replay.differences == [])
        #expect(replay.events == expected)
    }
}
