#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Foundation
import Testing
@testable import CollectorCore
import Wire

/// An executable built beside this test binary (`collector`, `clickpath`).
func builtExecutable(_ name: String) -> String? {
    guard let clickpath = clickpathExecutable() else { return nil }
    let candidate = String(clickpath.dropLast("clickpath".count)) + name
    return access(candidate, X_OK) == 0 ? candidate : nil
}

/// A running `collector` process and the HTTP port it printed.
struct CollectorProcess {
    let process: Process
    let port: UInt16

    let exited = DispatchSemaphore(value: 0)

    init(executable: String, arguments: [String]) throws {
        process = Process()
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        var text = ""
        var found: UInt16?
        while found == nil {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if text[range.upperBound...].dropFirst(digits.count).first == "\n" { found = UInt16(digits) }
            }
        }
        guard let found else { throw SpoolError.corrupt(path: executable, reason: "collector did not start: \(text)") }
        port = found
    }

    /// Sends `signal` and returns the exit status (or the signal that ended it); nil when the
    /// process was still running after a minute (it is then SIGKILLed so no test hangs).
    func kill(_ signal: Int32) -> Int32? {
        Glibc.kill(process.processIdentifier, signal)
        if exited.wait(timeout: .now() + .seconds(60)) == .timedOut {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }
}

@Suite(.serialized) struct CollectorProcessTests {
    @Test func aSIGKILLedCollectorDeliversEveryBeaconItAnswered202AfterARestart() throws {
        guard let executable = builtExecutable("collector") else {
            Issue.record("collector executable not found beside the test binary; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        writeFile(dir.path + "/apps.json", Array(#"{"apps":{"shop":{"platform":"web"}}}"#.utf8))
        let shardPort = unusedPort()
        let arguments = ["--http", "127.0.0.1:0", "--shards", "s1=127.0.0.1:\(shardPort)", "--data-dir", dir.path + "/data",
                         "--apps", dir.path + "/apps.json", "--ack", "spool"]

        // sessiond is down: every beacon is spooled and answered 202, then the collector dies.
        let first = try CollectorProcess(executable: executable, arguments: arguments)
        var answered: [String] = []
        for n in 0..<20 {
            let (status, body) = try httpRequest(port: first.port, path: "/v1/beacons", headers: ["Content-Type: text/plain"],
                                                 body: beaconJSON(visitor: "v\(n)", events: ["e\(n)-a", "e\(n)-b"]))
            #expect(status == 202, "body \(body)")
            if status == 202 { answered.append("v\(n)") }
        }
        #expect(first.kill(SIGKILL) == SIGKILL)

        // sessiond comes up, the collector restarts from its spool and delivers everything.
        let shard = try FakeShard(shard: "s1", port: shardPort)
        defer { shard.stop() }
        let second = try CollectorProcess(executable: executable, arguments: arguments)
        var byBatch: [BatchID: EventBatch] = [:]
        while Set(byBatch.values.flatMap { $0.beacons.map(\.visitor) }).count < answered.count {
            let before = shard.batches.all.count
            let batches = shard.batches.wait(count: before + 1)
            if batches.count == before { break }
            for batch in batches { byBatch[batch.batchID] = batch }
        }
        // A re-sent batch carries its original id; counted once per id, every event is there once.
        let events = byBatch.values.flatMap { $0.beacons.flatMap { b in b.events.map { "\(b.visitor)/\($0.id)" } } }
        #expect(events.count == Set(events).count, "an event is in two different batches")
        #expect(Set(events) == Set(answered.flatMap { ["\($0)/e\($0.dropFirst())-a", "\($0)/e\($0.dropFirst())-b"] }))
        #expect(second.kill(SIGTERM) == 0)
    }
}
