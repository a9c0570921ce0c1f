#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing
@testable import CollectorCore
import Wire

/// Same formula as `SpoolWriterCommand.payload` (Tests/CrashWriter).
func writerPayload(_ sequence: UInt64) -> [UInt8] {
    let count = 50 + Int(sequence % 37) * 53
    return (0..<count).map { UInt8(truncatingIfNeeded: sequence &* 131 &+ UInt64($0) &* 7) }
}

@Suite(.serialized) struct SpoolCrashTests {
    /// Runs `crash-writer spool-writer`, SIGKILLs it once it has printed `durableLines` durable ids,
    /// and returns the ids it printed as durable and as acknowledged.
    func runAndKill(directory: String, executable: String, durableLines: Int) throws -> (durable: Set<UInt64>, acked: Set<UInt64>) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["spool-writer", "--dir", directory]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var text = ""
        var durable = 0
        let handle = output.fileHandleForReading
        while durable < durableLines {
            let data = handle.availableData
            if data.isEmpty { break }
            let chunk = String(decoding: data, as: UTF8.self)
            text += chunk
            durable += chunk.components(separatedBy: "durable ").count - 1
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Lines printed before the kill that were still in the pipe count too.
        text += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var durableIDs = Set<UInt64>(), ackedIDs = Set<UInt64>()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            // A line cut by the kill has no newline yet and may be incomplete: only whole lines count.
            guard parts.count == 2, let n = UInt64(parts[1]) else { continue }
            if parts[0] == "durable" { durableIDs.insert(n) } else if parts[0] == "acked" { ackedIDs.insert(n) }
        }
        if !text.hasSuffix("\n"), let last = text.split(separator: "\n").last, let n = UInt64(last.split(separator: " ").last ?? "") {
            durableIDs.remove(n)
            ackedIDs.remove(n)
        }
        #expect(process.terminationReason == .uncaughtSignal)
        return (durableIDs, ackedIDs)
    }

    @Test(arguments: [3])
    func everyDurableBatchReplaysExactlyOnceAfterSIGKILL(kills: Int) throws {
        guard let executable = builtExecutable("crash-writer") else {
            Issue.record("crash-writer executable not found beside the test binary; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var durable = Set<UInt64>(), acked = Set<UInt64>()
        for round in 1...kills {
            let result = try runAndKill(directory: dir.path, executable: executable, durableLines: 400 * round)
            #expect(result.durable.count >= 100, "round \(round) printed too little to be a test")
            durable.formUnion(result.durable)
            acked.formUnion(result.acked)

            let spool = try Spool(directory: dir.path + "/spool", options: SpoolOptions(segmentBytes: 64 << 10))
            let replayed = spool.replay.unacknowledged["s1"] ?? []
            let ids = replayed.map(\.id.sequence)
            #expect(Set(ids).count == ids.count, "a batch replays twice")
            #expect(ids == ids.sorted(), "replay out of order")
            let missing = durable.subtracting(acked).subtracting(ids)
            #expect(missing.isEmpty, "durable batches lost after SIGKILL round \(round): \(missing.sorted().prefix(10))")
            for batch in replayed {
                #expect(try spool.read(batch) == writerPayload(batch.id.sequence), "batch \(batch.id) replays other bytes")
            }
            // Acknowledge nothing here: the next round's process continues on the same spool.
            spool.close()
        }
        let identity = try ProducerIdentity.load(directory: dir.path)
        #expect(identity.epoch == UInt32(kills) + 1)
    }
}
