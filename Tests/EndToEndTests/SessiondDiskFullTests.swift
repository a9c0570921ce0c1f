#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Model
import Testing
import TestSupport
import Transport
import Wire

/// A small tmpfs of its own (the tests run as root, in CI too), unmounted at the end.
final class SmallDisk {
    let path: String

    init(megabytes: Int) throws {
        path = try temporaryDirectory()
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path]
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            throw HarnessError("mount -t tmpfs failed (status \(mount.terminationStatus)): these tests run as root")
        }
    }

    /// Writes a file until the disk is full; returns its path.
    func fill() -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        return filler
    }

    deinit {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", path]
        try? umount.run()
        umount.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// sessiond whose disk fills up: nothing is acknowledged, `/readyz` says 503 and why, `/metrics`
/// counts the failed commits, the log stays short; once space returns every batch is committed
/// once and the shard is ready again.
@Suite(.serialized) struct SessiondDiskFullTests {
    func batch(_ index: Int, t: Int64) -> [Beacon] {
        (0..<20).map { v in
            Beacon(app: "shop", platform: .web, visitor: "v-\(index)-\(v)", sentAt: t, receivedAt: t, events: [
                Event(id: "e1", type: .view, ts: t + Int64(v), duration: 100, name: "Home", url: "/"),
                Event(id: "e2", type: .action, ts: t + Int64(v) + 50, duration: 20, name: "click", parent: "e1"),
            ])
        }
    }

    @Test func aFullDiskMakesSessiondUnreadyUntilSpaceReturns() throws {
        let disk = try SmallDisk(megabytes: 24)
        let d = try SessiondProcess(database: disk.path + "/s.db")
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis() - 600_000
        func id(_ n: Int) -> BatchID { BatchID(producer: 11, epoch: 1, sequence: UInt64(n)) }
        for n in 0..<5 { try sender.send(id(n), batch(n, t: t)) }
        #expect(sender.wait { sender.acknowledged == 5 })
        #expect(try d.get("/readyz").status == 200)

        let filler = disk.fill()
        // Batches keep coming: every commit fails, none is acknowledged.
        var sent = 5
        func sendMore(_ count: Int) throws {
            for _ in 0..<count {
                try sender.send(id(sent), batch(sent, t: t))
                sent += 1
            }
        }
        try sendMore(20)
        var ready = try d.get("/readyz")
        let unreadyBy = Date().addingTimeInterval(30)
        while ready.status == 200 && Date() < unreadyBy {
            usleep(50_000)
            ready = try d.get("/readyz")
        }
        #expect(ready.status == 503)
        #expect(ready.json["status"] as? String == "commits-failing", "\(ready.text)")
        // The collector-like client retries for a while; the log does not follow every failure.
        // Commits that still fit into the files' existing space (a WAL that a checkpoint had
        // reset is rewritten in place) may succeed before the first failure; once commits fail
        // nothing more is acknowledged. The count is taken a second into the retries, so acks
        // already on their way when readiness turned are in it.
        let linesBefore = d.stderr.split(separator: "\n").count
        let retryStart = Date()
        var ackedWhileFailing: Int?
        while Date() < retryStart.addingTimeInterval(4) {
            try sendMore(1)
            usleep(100_000)
            if ackedWhileFailing == nil && Date() > retryStart.addingTimeInterval(1) { ackedWhileFailing = sender.acknowledged }
        }
        #expect(sender.acknowledged == ackedWhileFailing)
        #expect(sender.acknowledged < sent)
        let metrics = try d.get("/metrics").text
        let failures = metricValue(metrics, "clickpath_sessiond_commit_failures_total") ?? 0
        #expect(failures >= 20, "\(metrics)")
        #expect(metricValue(metrics, "clickpath_sessiond_store_writable") == 0)
        let lines = d.stderr.split(separator: "\n").count - linesBefore
        print("disk full: \(failures) failed commits, \(lines) log lines in 4 s of retries")
        #expect(lines <= 6, "\(lines) log lines for \(failures) failed commits:\n\(d.stderr)")

        // Space returns: everything sent is committed, once, and the shard is ready again.
        try FileManager.default.removeItem(atPath: filler)
        #expect(sender.wait(seconds: 60) { sender.acknowledged == sent })
        // A batch committed after its connection was closed is acked on the re-send as a
        // duplicate; the event count below shows each was stored exactly once.
        for n in 0..<sent { #expect(sender.ack(id(n)) != nil, "batch \(n)") }
        var readyAgain = try d.get("/readyz")
        let readyBy = Date().addingTimeInterval(10)
        while readyAgain.status != 200 && Date() < readyBy {
            usleep(50_000)
            readyAgain = try d.get("/readyz")
        }
        #expect(readyAgain.status == 200)
        let after = try d.get("/metrics").text
        #expect(metricValue(after, "clickpath_sessiond_events_total{kind=\"new\"}") == Int64(sent * 40))
        #expect(metricValue(after, "clickpath_sessiond_store_writable") == 1)
        #expect(d.terminate() == 0, "\(d.stderr)")
        expectReplayClean(databasePath: disk.path + "/s.db")
    }
}
