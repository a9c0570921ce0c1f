import Config
import Foundation
@testable import SessionStore
import TestSupport
import Testing
import Workloads
import Model
import Wire

/// `clickpath replay` run as a real process on a real store file.
@Suite(.serialized) struct ReplayCommandTests {
    func runReplay(_ binary: String, _ db: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["replay", "--db", db]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func exitCodeIsZeroWithoutDifferencesAndOneWithThem() throws {
        guard let binary = builtExecutable("clickpath") else {
            Issue.record("clickpath executable not found beside the tests; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/s.db"
        let store = try SessionStore(path: path, now: 1_767_225_600_000) { _, platform in SessionRules.defaults(for: platform) }
        var traffic = SyntheticTraffic(seed: 4, visitors: 20, eventsPerBeacon: 5, millisecondsPerBeacon: 20_000)
        for sequence in 0..<10 {
            _ = try store.apply(batch: BatchID(producer: 9, epoch: 1, sequence: UInt64(sequence)), beacons: traffic.batch(beacons: 10), now: traffic.now)
        }
        let (clean, cleanOutput) = try runReplay(binary, path)
        #expect(clean == 0)
        #expect(cleanOutput.contains("500 events"))
        #expect(cleanOutput.contains(" 0 differences"))

        try store.connection.execute("UPDATE sessions SET duration = duration + 1 WHERE sid = 1")
        let (tampered, tamperedOutput) = try runReplay(binary, path)
        #expect(tampered == 1)
        #expect(tamperedOutput.contains("difference: app shop"))
        #expect(tamperedOutput.contains("duration stored"))
    }
}
