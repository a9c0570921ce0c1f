import Model
import Foundation
import Testing
import TestSupport
import Transport
import Wire

/// Beacons of a small shop: alice (anonymous first, then tagged), bob with errors, a mobile dave.
func shopBeacons(t: Int64) -> [[Beacon]] {
    let alice1 = Beacon(app: "shop", platform: .web, visitor: "v-alice", session: "c1",
                        device: Device(browser: "Chrome", os: "Windows", deviceType: "desktop"), sentAt: t, receivedAt: t,
                        events: [
        Event(id: "a-v1", type: .view, ts: t, duration: 800, name: "Home", url: "/"),
        Event(id: "a-a1", type: .action, ts: t + 1000, duration: 400, name: "click Buy", parent: "a-v1",
              props: [("plan", .string("pro"))]),
        Event(id: "a-r1", type: .request, ts: t + 1100, duration: 200, url: "/api/cart", parent: "a-a1", status: 200, method: "POST"),
        Event(id: "a-x1", type: .resource, ts: t + 1200, duration: 30, url: "/img/logo.png", parent: "a-v1", status: 404),
    ])
    let alice2 = Beacon(app: "shop", platform: .web, visitor: "v-alice", session: "c1", user: "alice@example.com",
                        device: Device(browser: "Chrome", os: "Windows", deviceType: "desktop"), sentAt: t, receivedAt: t,
                        events: [
        Event(id: "a-v2", type: .view, ts: t + 5000, duration: 500, name: "Checkout", url: "/checkout"),
        Event(id: "a-e1", type: .error, ts: t + 5200, parent: "a-v2", message: "TypeError: total is undefined",
              stack: "at pay (checkout.js:12)"),
    ])
    let bob = Beacon(app: "shop", platform: .web, visitor: "v-bob", session: "c2",
                     device: Device(browser: "Firefox", os: "Linux"), sentAt: t, receivedAt: t, events: [
        Event(id: "b-v1", type: .view, ts: t + 2000, duration: 300, name: "Home", url: "/"),
        Event(id: "b-a1", type: .action, ts: t + 2500, duration: 9000, name: "search", parent: "b-v1"),
        Event(id: "b-e1", type: .error, ts: t + 3000, parent: "b-a1", message: "RangeError"),
    ])
    let dave = Beacon(app: "mob", platform: .mobile, visitor: "v-dave", device: Device(os: "Android", appVersion: "2.1"),
                      sentAt: t, receivedAt: t, events: [
        Event(id: "d-s", type: .appStart, ts: t + 100),
        Event(id: "d-v1", type: .view, ts: t + 200, duration: 50, name: "Main"),
    ])
    return [[alice1, bob], [dave], [alice2]]
}

@Suite(.serialized) struct SessiondProcessTests {
    @Test func ingestThenEveryRouteAnswers() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "s3cret\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let d = try SessiondProcess(database: dir + "/s.db", extra: ["--admin-token-file", dir + "/token"])
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis() - 60_000
        let batches = shopBeacons(t: t)
        for (i, beacons) in batches.enumerated() {
            try sender.send(BatchID(producer: 7, epoch: 1, sequence: UInt64(i)), beacons)
        }
        #expect(sender.wait { sender.acknowledged == batches.count })
        #expect(sender.ack(BatchID(producer: 7, epoch: 1, sequence: 0))?.outcome == .committed)
        #expect(sender.ack(BatchID(producer: 7, epoch: 1, sequence: 0))?.acceptedEvents == 7)

        // The same batch id again: acknowledged as duplicate, applied once.
        let before = sender.acksReceived
        try sender.send(BatchID(producer: 7, epoch: 1, sequence: 0), batches[0])
        #expect(sender.wait { sender.acksReceived == before + 1 })
        #expect(sender.ack(BatchID(producer: 7, epoch: 1, sequence: 0))?.outcome == .duplicate)

        let list = try d.get("/v1/sessions?app=shop")
        #expect(list.status == 200)
        let rows = list.json["sessions"] as? [[String: Any]] ?? []
        #expect(Set(rows.compactMap { $0["visitor"] as? String }) == ["v-alice", "v-bob"])
        #expect(rows.reduce(0) { $0 + (($1["counts"] as? [String: Any])?["events"] as? Int ?? 0) } == 9)
        #expect((try d.get("/v1/sessions?not.browser=Chrome&app=shop").json["sessions"] as? [[String: Any]])?.count == 1)
        #expect((try d.get("/v1/sessions?minErrors=1&page=/checkout").json["sessions"] as? [[String: Any]])?.count == 1)

        let alice = try #require(rows.first { $0["visitor"] as? String == "v-alice" }?["id"] as? String)
        let session = try d.get("/v1/sessions/\(alice)")
        #expect(session.status == 200)
        #expect((session.json["timeline"] as? [[String: Any]])?.first?["id"] as? String == "a-v1")
        let waterfall = try d.get("/v1/sessions/\(alice)/waterfall?event=a-v1")
        #expect((waterfall.json["totals"] as? [String: Any])?["failedResources"] as? Int == 1)
        #expect(try d.get("/v1/sessions/\(alice)/errors/a-e1").json["stack"] as? String == "at pay (checkout.js:12)")
        #expect((try d.get("/v1/users/alice%40example.com/sessions").json["sessions"] as? [[String: Any]])?.count == 1)
        #expect((try d.get("/v1/visitors/v-dave/sessions").json["sessions"] as? [[String: Any]])?.count == 1)
        #expect(try d.get("/v1/users/live").json["count"] as? Int == 3)
        #expect(try d.get("/v1/users/active?window=5m").json["count"] as? Int == 3)
        let stats = try d.get("/v1/stats?app=shop&from=now-1h&interval=5m")
        #expect(stats.status == 200)
        #expect(stats.json["sessions"] as? Int == 2)
        #expect(try d.get("/v1/stats/partial?from=now-1h").json["sessions"] as? Int == 3)

        #expect(try d.get("/v1/sessions?minErrors=x").status == 400)
        #expect(try d.get("/v1/sessions/ffffffffffffffffffffffffffffffff").status == 404)
        #expect(try d.get("/v1/nothing").status == 404)
        #expect(try d.get("/healthz").status == 200)
        #expect(try d.get("/readyz").status == 200)
        let metrics = try d.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("clickpath_sessiond_batches_total{outcome=\"committed\"} 3"))
        #expect(metrics.text.contains("clickpath_sessiond_batches_total{outcome=\"duplicate\"} 1"))
        #expect(metrics.text.contains("clickpath_sessiond_live_sessions 3"))
        #expect(metrics.text.contains("clickpath_sessiond_query_seconds_count{route=\"GET /v1/sessions\"}"))

        #expect(try d.http("DELETE", "/v1/visitors/v-bob").status == 401)
        #expect(try d.http("DELETE", "/v1/visitors/v-bob", headers: ["Authorization": "Bearer nope"]).status == 403)
        #expect(d.terminate() == 0)
    }

    /// With apps.json giving a 1 s inactivity timeout, a live session completes by the watermark
    /// alone (no new event arrives); an app without an entry keeps the 30 min default.
    @Test func theWatermarkCompletesSessionsWithoutNewEvents() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #"{"apps": {"quick": {"platform": "web", "rules": {"inactivityTimeout": 1000}}, "*": {"platform": "web"}}}"#
            .write(toFile: dir + "/apps.json", atomically: true, encoding: .utf8)
        let d = try SessiondProcess(database: dir + "/s.db", extra: ["--apps", dir + "/apps.json"])
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis()
        let beacons = ["quick", "slow"].map { app in
            Beacon(app: app, platform: .web, visitor: "v", sentAt: t, receivedAt: t,
                   events: [Event(id: "e1", type: .view, ts: t, duration: 10, url: "/")])
        }
        try sender.send(BatchID(producer: 5, epoch: 1, sequence: 1), beacons)
        #expect(sender.wait { sender.acknowledged == 1 })
        let completed = sender.wait(seconds: 20) {
            let rows = (try? d.get("/v1/sessions?status=completed").json["sessions"] as? [[String: Any]]) ?? []
            return rows.count == 1
        }
        #expect(completed)
        let rows = try d.get("/v1/sessions?status=completed").json["sessions"] as? [[String: Any]] ?? []
        #expect(rows.first?["app"] as? String == "quick")
        #expect(rows.first?["endReason"] as? String == "inactivity")
        #expect((try d.get("/v1/sessions?status=live").json["sessions"] as? [[String: Any]])?.first?["app"] as? String == "slow")
        #expect(d.terminate() == 0)
    }

    @Test func aClientExpectingAnotherShardIsRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try SessiondProcess(database: dir + "/s.db")
        let wrong = try BatchSender(port: d.wirePort, shard: "s2")
        defer { wrong.stop() }
        #expect(wrong.wait(seconds: 10) {
            wrong.disconnects.contains { if case .protocolError = $0 { true } else { false } }
        }, "\(wrong.disconnects)")
        #expect(d.terminate() == 0)
    }

    @Test func garbageAndSlowConnectionsDoNotDisturbHealthyOnes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try SessiondProcess(database: dir + "/s.db")
        let garbage = try RawSocket(port: d.wirePort)
        garbage.send(Array(repeating: 0xff, count: 64))
        let slow = try RawSocket(port: d.wirePort)
        // Half a frame header, then silence.
        slow.send([0, 0])
        let huge = try RawSocket(port: d.wirePort)
        huge.send([0x7f, 0xff, 0xff, 0xff, 1, 1, 0, 0])
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis()
        try sender.send(BatchID(producer: 1, epoch: 1, sequence: 1), shopBeacons(t: t)[0])
        #expect(sender.wait { sender.acknowledged == 1 })
        #expect(garbage.readUntilClosed(seconds: 5))
        #expect(huge.readUntilClosed(seconds: 5))
        #expect(try d.get("/healthz").status == 200)
        #expect(d.terminate() == 0)
    }

    @Test func restartKeepsEverySession() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = nowMillis() - 60_000
        var before: [String] = []
        do {
            let d = try SessiondProcess(database: dir + "/s.db")
            let sender = try BatchSender(port: d.wirePort)
            for (i, beacons) in shopBeacons(t: t).enumerated() {
                try sender.send(BatchID(producer: 2, epoch: 1, sequence: UInt64(i)), beacons)
            }
            #expect(sender.wait { sender.acknowledged == 3 })
            before = (try d.get("/v1/sessions").json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(d.terminate() == 0)
            // SIGTERM told the collector to go away before the connection closed.
            #expect(sender.wait(seconds: 5) { sender.disconnects.contains { if case .goAway = $0 { true } else { false } } },
                    "\(sender.disconnects)")
            sender.stop()
        }
        // After the clean stop the WAL was checkpointed into the database.
        let wal = (try? FileManager.default.attributesOfItem(atPath: dir + "/s.db-wal")[.size] as? Int) ?? 0
        #expect(wal == 0)
        let again = try SessiondProcess(database: dir + "/s.db")
        let after = (try again.get("/v1/sessions").json["sessions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(before.count == 3)
        #expect(Set(after) == Set(before))
        // A batch id seen before the restart is still a duplicate.
        let sender = try BatchSender(port: again.wirePort)
        defer { sender.stop() }
        try sender.send(BatchID(producer: 2, epoch: 1, sequence: 0), shopBeacons(t: t)[0])
        #expect(sender.wait { sender.acknowledged == 1 })
        #expect(sender.ack(BatchID(producer: 2, epoch: 1, sequence: 0))?.outcome == .duplicate)
        #expect(again.terminate() == 0)
    }

    @Test func erasureLeavesNoTraceAndATombstone() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try SessiondProcess(database: dir + "/s.db", environment: ["CLICKPATH_ADMIN_TOKEN": "tok"])
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis() - 60_000
        for (i, beacons) in shopBeacons(t: t).enumerated() {
            try sender.send(BatchID(producer: 3, epoch: 1, sequence: UInt64(i)), beacons)
        }
        #expect(sender.wait { sender.acknowledged == 3 })
        let erased = try d.http("DELETE", "/v1/users/alice%40example.com", headers: ["Authorization": "Bearer tok"])
        #expect(erased.status == 200)
        #expect((erased.json["erased"] as? [String: Any])?["sessions"] as? Int == 1)
        #expect((erased.json["erased"] as? [String: Any])?["events"] as? Int == 6)
        #expect((try d.get("/v1/visitors/v-alice/sessions").json["sessions"] as? [[String: Any]])?.isEmpty == true)
        // A late event of the erased visitor is dropped, not resurrected.
        try sender.send(BatchID(producer: 3, epoch: 1, sequence: 9), [Beacon(
            app: "shop", platform: .web, visitor: "v-alice", sentAt: t, receivedAt: t,
            events: [Event(id: "a-late", type: .view, ts: t + 9000, name: "Late", url: "/late")])])
        #expect(sender.wait { sender.acknowledged == 4 })
        #expect((try d.get("/v1/visitors/v-alice/sessions").json["sessions"] as? [[String: Any]])?.isEmpty == true)
        #expect(d.terminate() == 0)
        for file in ["/s.db", "/s.db-wal"] {
            let bytes = FileManager.default.contents(atPath: dir + file) ?? Data()
            for needle in ["v-alice", "alice@example.com", "checkout.js"] {
                #expect(bytes.range(of: Data(needle.utf8)) == nil, "\(file) still holds \(needle)")
            }
        }
        #expect((FileManager.default.contents(atPath: dir + "/s.db") ?? Data()).range(of: Data("v-bob".utf8)) != nil)
    }

    /// Streams batches while sessiond is killed with SIGKILL `kills` times and restarted; the
    /// client re-sends every unacknowledged batch with the same id. Afterwards every event is
    /// stored exactly once and the sessions equal those of a run without kills.
    @Test(arguments: [5])
    func killedFiveTimesLosesAndDuplicatesNothing(_ kills: Int) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = nowMillis() - 120_000
        let batches = (0..<150).map { i -> [Beacon] in
            (0..<4).map { v in
                let visitor = "k\((i + v) % 40)"
                return Beacon(app: "shop", platform: .web, visitor: visitor, sentAt: t, receivedAt: t,
                              events: (0..<5).map { e in
                                  let n = i * 20 + v * 5 + e
                                  return Event(id: "e\(n)", type: e == 0 ? .view : .action, ts: t + Int64(n) * 10,
                                               duration: 5, name: "step \(e)", url: "/p\(n % 7)")
                              })
            }
        }
        let totalEvents = batches.count * 4 * 5

        var d = try SessiondProcess(database: dir + "/killed.db")
        let wirePort = d.wirePort
        let httpPort = d.httpPort
        let sender = try BatchSender(port: wirePort)
        defer { sender.stop() }
        // Batches go out in chunks; each kill comes while the last chunk is still being acked.
        let chunk = batches.count / (kills + 1)
        var sent = 0
        var ackedAtKills: [Int] = []
        for k in 0...kills {
            let end = k == kills ? batches.count : sent + chunk
            for i in sent..<end {
                try sender.send(BatchID(producer: 9, epoch: 1, sequence: UInt64(i)), batches[i])
            }
            sent = end
            guard k < kills else { break }
            _ = sender.wait(seconds: 20) { sender.acknowledged >= sent - chunk / 2 }
            d.kill9()
            ackedAtKills.append(sender.acknowledged)
            d = try SessiondProcess(database: dir + "/killed.db", wirePort: wirePort, httpPort: httpPort)
        }
        #expect(sender.wait(seconds: 60) { sender.acknowledged == batches.count }, "acked \(sender.acknowledged)")
        let killed = try summaries(d)
        let metrics = try d.get("/metrics").text
        print("kill test: acked at each kill \(ackedAtKills) of \(batches.count); acks received \(sender.acksReceived);",
              metrics.split(separator: "\n").filter { $0.hasPrefix("clickpath_sessiond_batches_total") }.joined(separator: " "))
        #expect(ackedAtKills.contains { $0 < batches.count })
        #expect(d.terminate() == 0)
        expectReplayClean(databasePath: dir + "/killed.db")

        let clean = try SessiondProcess(database: dir + "/clean.db")
        let cleanSender = try BatchSender(port: clean.wirePort)
        defer { cleanSender.stop() }
        for (i, beacons) in batches.enumerated() {
            try cleanSender.send(BatchID(producer: 9, epoch: 1, sequence: UInt64(i)), beacons)
        }
        #expect(cleanSender.wait(seconds: 60) { cleanSender.acknowledged == batches.count })
        let reference = try summaries(clean)
        #expect(clean.terminate() == 0)

        #expect(killed.reduce(0) { $0 + $1.events } == totalEvents)
        #expect(killed == reference)
    }

    struct Summary: Hashable, Comparable {
        var visitor: String
        var start: Int
        var end: Int
        var events: Int
        var actions: Int

        static func < (a: Summary, b: Summary) -> Bool { (a.visitor, a.start) < (b.visitor, b.start) }
    }

    func summaries(_ d: SessiondProcess) throws -> [Summary] {
        var out: [Summary] = []
        var cursor: String?
        repeat {
            let page = try d.get("/v1/sessions?limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""))
            for row in page.json["sessions"] as? [[String: Any]] ?? [] {
                let counts = row["counts"] as? [String: Any] ?? [:]
                out.append(Summary(visitor: row["visitor"] as? String ?? "", start: row["startedAt"] as? Int ?? 0,
                                   end: row["endedAt"] as? Int ?? 0, events: counts["events"] as? Int ?? 0,
                                   actions: counts["actions"] as? Int ?? 0))
            }
            cursor = page.json["nextCursor"] as? String
        } while cursor != nil
        return out.sorted()
    }
}

/// A plain TCP socket for sending malformed bytes.
final class RawSocket {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { throw HarnessError("connect failed") }
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes the connection (true) or `seconds` pass (false).
    func readUntilClosed(seconds: Int) -> Bool {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    deinit { close(fd) }
}
