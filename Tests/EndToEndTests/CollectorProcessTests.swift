#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Foundation
import TestSupport
import Testing
@testable import CollectorCore
import Wire

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
        // Counted from the batches already handled, not from those already arrived: the whole spool
        // may be delivered before the first look.
        var handled = 0
        while Set(byBatch.values.flatMap { $0.beacons.map(\.visitor) }).count < answered.count {
            let batches = shard.batches.wait(count: handled + 1)
            if batches.count == handled { break }
            handled = batches.count
            for batch in batches { byBatch[batch.batchID] = batch }
        }
        // A re-sent batch carries its original id; counted once per id, every event is there once.
        let events = byBatch.values.flatMap { $0.beacons.flatMap { b in b.events.map { "\(b.visitor)/\($0.id)" } } }
        #expect(events.count == Set(events).count, "an event is in two different batches")
        #expect(Set(events) == Set(answered.flatMap { ["\($0)/e\($0.dropFirst())-a", "\($0)/e\($0.dropFirst())-b"] }))
        #expect(second.kill(SIGTERM) == 0)
    }
}
