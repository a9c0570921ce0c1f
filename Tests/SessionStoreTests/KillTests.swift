import Config
import Foundation
@testable import SessionStore
import Testing
import Wire

/// Kills a real writer process (`clickpath store-writer`) with SIGKILL in the middle of its
/// batches, several times, and proves the file is consistent and every committed batch is whole.
@Suite(.serialized) struct KillTests {
    /// The `clickpath` executable built beside this test bundle.
    static func clickpathBinary() -> String? {
        if let explicit = ProcessInfo.processInfo.environment["CLICKPATH_BIN"] { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("clickpath").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    /// Starts the writer, reads `committed N` lines until `commits` more arrived, then SIGKILLs it.
    /// Returns the sequences it reported committed.
    static func runAndKill(binary: String, db: String, commits: Int) throws -> [UInt64] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["store-writer", "--db", db]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var reported: [UInt64] = []
        var pending = ""
        let reader = output.fileHandleForReading
        while reported.count < commits {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            pending += String(decoding: chunk, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                let line = pending[..<newline]
                pending = String(pending[pending.index(after: newline)...])
                if line.hasPrefix("committed "), let sequence = UInt64(line.dropFirst("committed ".count)) {
                    reported.append(sequence)
                }
            }
        }
        // The writer is already inside its next batch: this lands mid-transaction.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        return reported
    }

    @Test(arguments: [3])
    func sigkillMidBatchLeavesEveryCommittedBatchWhole(kills: Int) throws {
        guard let binary = Self.clickpathBinary() else {
            Issue.record("clickpath executable not found beside the tests; run `swift build` first or set CLICKPATH_BIN")
            return
        }
        let dir = TempDir()
        let db = dir.path("killed.db")
        var reported: [UInt64] = []
        for round in 0..<kills {
            let got = try Self.runAndKill(binary: binary, db: db, commits: 15 + 10 * round)
            #expect(!got.isEmpty, "the writer committed nothing in round \(round)")
            reported += got
        }

        let connection = try Connection(path: db)
        #expect(try connection.scalarText("PRAGMA integrity_check") == "ok")
        #expect(try connection.scalarText("PRAGMA foreign_key_check") == nil)
        let stored = Int(try connection.scalarInt("SELECT count(*) FROM batches WHERE producer = 1") ?? 0)
        let highest = try connection.scalarInt("SELECT max(sequence) FROM batches WHERE producer = 1") ?? -1
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
        #expect(try connection.scalarInt("SELECT sum(events) FROM batches") == Int64(expected))
        // Sessions agree with the events: replay recomputes them all without a difference.
        let replay = try Replay.run(path: db)
        #expect(replay.differences == [])
        #expect(replay.events == expected)
    }
}
