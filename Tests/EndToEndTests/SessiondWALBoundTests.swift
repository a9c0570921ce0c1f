#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Model
import Testing
import TestSupport
import Transport
import Wire

/// Steady ingest into a real sessiond: its WAL file stays below `--wal-limit` (64 MiB by
/// default) the whole time. `CLICKPATH_WAL_SOAK_SECONDS` sets how long (20 s by default, longer
/// up to 90 s until the WAL was truncated once; the documented local run is 600).
@Suite(.serialized) struct SessiondWALBoundTests {
    static var seconds: Double {
        Double(ProcessInfo.processInfo.environment["CLICKPATH_WAL_SOAK_SECONDS"] ?? "") ?? 20
    }

    /// One batch of `visitors` new visitors, three events each.
    func batch(_ index: Int, visitors: Int, t: Int64) -> [Beacon] {
        (0..<visitors).map { v in
            let ts = t + Int64(index)
            return Beacon(app: "shop", platform: .web, visitor: "v-\(index)-\(v)", sentAt: ts, receivedAt: ts, events: [
                Event(id: "e1", type: .view, ts: ts, duration: 100, name: "Home", url: "/"),
                Event(id: "e2", type: .action, ts: ts + 50, duration: 20, name: "click Buy", parent: "e1",
                      props: [("plan", .string("pro"))]),
                Event(id: "e3", type: .request, ts: ts + 60, duration: 80, url: "/api/cart", parent: "e2",
                      status: 200, method: "POST"),
            ])
        }
    }

    @Test func theWALStaysBoundedUnderSteadyIngest() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let database = dir + "/s.db"
        let d = try SessiondProcess(database: database)
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let limit: Int64 = 64 << 20
        let t = nowMillis() - 600_000
        let start = Date()
        let end = start.addingTimeInterval(Self.seconds)
        // On a slow or busy machine the WAL may need longer to reach the truncation point; the
        // run goes on until it did (the bound must have been exercised), within 90 s.
        let latest = start.addingTimeInterval(max(Self.seconds, 90))
        var truncated: Int64 = 0
        var lastScrape = start
        var sent = 0
        var largest: Int64 = 0
        var samples = 0
        while Date() < end || (truncated == 0 && Date() < latest) {
            if Date().timeIntervalSince(lastScrape) >= 1 {
                lastScrape = Date()
                truncated = metricValue(try d.get("/metrics").text,
                                        "clickpath_sessiond_wal_truncations_total{outcome=\"truncated\"}") ?? 0
            }
            // Keep the writer busy: a few batches ahead of the acks, never an unbounded queue.
            while sent - sender.acknowledged < 16 {
                try sender.send(BatchID(producer: 5, epoch: 1, sequence: UInt64(sent)), batch(sent, visitors: 100, t: t))
                sent += 1
            }
            let wal = fileSize(database + "-wal")
            largest = max(largest, wal)
            samples += 1
            #expect(wal <= limit, "WAL \(wal) bytes after \(sent) batches")
            usleep(20_000)
        }
        #expect(sender.wait(seconds: 60) { sender.acknowledged == sent })
        let metrics = try d.get("/metrics").text
        let truncations = metricValue(metrics, "clickpath_sessiond_wal_truncations_total{outcome=\"truncated\"}")
        let reported = metricValue(metrics, "clickpath_sessiond_wal_bytes")
        let events = metricValue(metrics, "clickpath_sessiond_events_total{kind=\"new\"}")
        print("WAL bound: \(Int(Date().timeIntervalSince(start))) s, \(sent) batches, \(events ?? -1) events, largest WAL \(largest) bytes "
              + "in \(samples) samples, \(truncations ?? -1) truncations")
        // The load was enough to reach the truncation point, so the bound was exercised.
        #expect((truncations ?? 0) >= 1, "\(metrics)")
        #expect((reported ?? Int64.max) <= limit)
        #expect(events == Int64(sent * 100 * 3))
        #expect(d.terminate() == 0, "\(d.stderr)")
        expectReplayClean(databasePath: database)
    }
}

func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}

/// The value of one sample line (`name value`) of Prometheus text.
func metricValue(_ text: String, _ name: String) -> Int64? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Int64(line.dropFirst(name.count + 1))
    }
    return nil
}
