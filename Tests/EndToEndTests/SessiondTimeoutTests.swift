import Model
import Foundation
import Testing
import Transport
import Wire

/// `--query-timeout` on a real process: a query that runs past it answers 503 `timeout` and is
/// aborted, while Wire ingest keeps committing batches.
@Suite(.serialized) struct SessiondQueryTimeoutTests {
    /// One batch of `visitors` one-view sessions; visitor ids are unique per batch.
    func batch(_ index: Int, visitors: Int, t: Int64) -> [Beacon] {
        (0..<visitors).map { v in
            Beacon(app: "shop", platform: .web, visitor: "v-\(index)-\(v)", sentAt: t, receivedAt: t, events: [
                Event(id: "e1", type: .view, ts: t + Int64(v), duration: 100, name: "Home", url: "/"),
                Event(id: "e2", type: .action, ts: t + Int64(v) + 50, duration: 20, name: "click", parent: "e1"),
            ])
        }
    }

    @Test func aSlowQueryAnswers503WhileIngestGoesOn() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1ms, the smallest limit: a stats scan over thousands of sessions cannot finish within it.
        let d = try SessiondProcess(database: dir + "/s.db", extra: ["--query-timeout", "1ms"])
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis() - 3_600_000
        let loaded = 40
        for i in 0..<loaded {
            try sender.send(BatchID(producer: 3, epoch: 1, sequence: UInt64(i)), batch(i, visitors: 500, t: t))
        }
        #expect(sender.wait(seconds: 120) { sender.acknowledged == loaded })

        // Each round: one batch sent, then a whole-shard stats query that runs out of time.
        let rounds = 5
        for round in 0..<rounds {
            let id = BatchID(producer: 3, epoch: 1, sequence: UInt64(loaded + round))
            try sender.send(id, batch(loaded + round, visitors: 50, t: t))
            let slow = try d.get("/v1/stats/partial?from=now-1d")
            #expect(slow.status == 503, "\(slow.text)")
            #expect((slow.json["error"] as? [String: Any])?["code"] as? String == "timeout", "\(slow.text)")
        }
        #expect(sender.wait(seconds: 60) { sender.acknowledged == loaded + rounds })
        for i in 0..<(loaded + rounds) {
            #expect(sender.ack(BatchID(producer: 3, epoch: 1, sequence: UInt64(i)))?.outcome == .committed)
        }
        // The daemon stays ready, and the timeouts are counted.
        #expect(try d.get("/readyz").status == 200)
        let metrics = try d.get("/metrics").text
        #expect(metrics.contains("status=\"503\"} \(rounds)\n"), "\(metrics)")
        #expect(d.terminate() == 0, "\(d.stderr)")
    }
}
