#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Model
import System
import Testing
import TestSupport
import Transport
import Wire

/// Raw Wire sockets against a real sessiond: floods before and after the handshake. Its memory
/// (`/proc/PID/status`) stays bounded and returns once the flood is over.
@Suite(.serialized) struct SessiondWireFloodTests {
    /// VmRSS and VmSize of a process, in bytes.
    func memory(_ pid: Int32) -> (rss: Int64, size: Int64) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int64 {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return -1 }
            return (Int64(line.split(separator: " ").dropFirst().first ?? "") ?? -1) * 1024
        }
        return (field("VmRSS"), field("VmSize"))
    }

    /// Sends all of `bytes`, or stops at the first error (the server closed the connection).
    @discardableResult
    func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            offset += n
        }
        return offset
    }

    /// True once the server closed `fd` (EOF or reset), reading away what it sent first.
    func closedByServer(_ fd: Int32) -> Bool {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 || (n < 0 && errno == ECONNRESET) { return true }
            if n < 0 { return false }
        }
    }

    /// Connects and completes the handshake as a collector; returns the socket.
    func handshaken(_ port: UInt16) throws -> Int32 {
        let fd = try Loopback.connect(port: port)
        let hello = try Message.hello(Hello(role: .collector, nodeID: "flood", softwareVersion: "test",
                                            expectedShardID: "s1")).encodeFrame()
        sendAll(fd, hello)
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while true {
            if case .helloAck? = try decoder.nextMessage() { return fd }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw HarnessError("no HelloAck") }
            decoder.append(buffer.prefix(n))
        }
    }

    /// The first bytes of an EventBatch frame announcing `length` bytes after the prefix.
    func batchPrefix(length: Int) -> [UInt8] {
        [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
         MessageKind.eventBatch.rawValue, 0, 1, 0]
    }

    @Test func floodsBeforeAndAfterTheHandshakeKeepMemoryBounded() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try SessiondProcess(database: dir + "/s.db", extra: ["--max-wire-connections", "150"])
        let pid = d.process.processIdentifier
        let mib: Int64 = 1 << 20
        let base = memory(pid)
        let sixteen = 16 << 20

        // 200 silent connections: 150 are kept (until the handshake timeout), 50 refused.
        let silent = try (0..<200).map { _ in try Loopback.connect(port: d.wirePort) }
        var refused: Int64 = 0
        let countedBy = Date().addingTimeInterval(20)
        while refused < 50 && Date() < countedBy {
            usleep(20_000)
            refused = metricValue(try d.get("/metrics").text, "clickpath_sessiond_wire_refused_total") ?? 0
        }
        #expect(refused == 50)
        // Each announces a 16 MiB frame before any Hello: refused at once, nothing reserved.
        for fd in silent { sendAll(fd, batchPrefix(length: sixteen - 16)) }
        #expect(silent.allSatisfy { closedByServer($0) })
        for fd in silent { close(fd) }
        let afterAnnounce = memory(pid)
        #expect(afterAnnounce.size - base.size < 256 * mib, "VmSize \(base.size / mib) → \(afterAnnounce.size / mib) MiB")

        // 64 connections pour 16 MiB each before any Hello: each is closed after a few KiB.
        let pourers = try (0..<64).map { _ in try Loopback.connect(port: d.wirePort) }
        let garbage = batchPrefix(length: sixteen - 16) + [UInt8](repeating: 0xAB, count: sixteen - 8)
        var accepted = 0
        for fd in pourers { accepted = max(accepted, sendAll(fd, garbage)) }
        #expect(pourers.allSatisfy { closedByServer($0) })
        for fd in pourers { close(fd) }
        let afterPour = memory(pid)
        #expect(afterPour.rss - base.rss < 64 * mib, "VmRSS \(base.rss / mib) → \(afterPour.rss / mib) MiB")

        // After the handshake: 100 connections announce 16 MiB and send 64 KiB of it. The body
        // is buffered as it arrives, not reserved whole (that was 1.6 GB of address space).
        let announcers = try (0..<100).map { _ in try handshaken(d.wirePort) }
        for fd in announcers { sendAll(fd, batchPrefix(length: sixteen - 16) + [UInt8](repeating: 1, count: 64 * 1024)) }
        usleep(500_000)
        let held = memory(pid)
        #expect(held.size - base.size < 512 * mib, "VmSize \(base.size / mib) → \(held.size / mib) MiB")
        #expect(held.rss - base.rss < 128 * mib, "VmRSS \(base.rss / mib) → \(held.rss / mib) MiB")

        // 8 of them send nearly all of their 16 MiB: that is buffered (the peer may send it),
        // and given back once they close.
        let nearlyAll = [UInt8](repeating: 2, count: sixteen - 128 * 1024)
        for fd in announcers.prefix(8) { sendAll(fd, nearlyAll) }
        usleep(500_000)
        let peak = memory(pid)
        for fd in announcers { close(fd) }
        var after = memory(pid)
        let returnBy = Date().addingTimeInterval(20)
        while after.rss - base.rss >= 64 * mib && Date() < returnBy {
            usleep(100_000)
            after = memory(pid)
        }
        print("Wire flood: RSS base \(base.rss / mib) MiB, after pre-handshake floods \(afterPour.rss / mib) MiB, "
              + "100 held \(held.rss / mib) MiB (VmSize \(base.size / mib) → \(held.size / mib) MiB), "
              + "8 × 16 MiB \(peak.rss / mib) MiB, after close \(after.rss / mib) MiB; a pourer got \(accepted) bytes in")
        #expect(peak.rss - base.rss >= 64 * mib, "the 8 large frames were buffered")
        #expect(after.rss - base.rss < 64 * mib, "VmRSS \(base.rss / mib) → \(after.rss / mib) MiB after the flood")

        // Still serving: a real client's batch is committed.
        let sender = try BatchSender(port: d.wirePort)
        defer { sender.stop() }
        let t = nowMillis()
        try sender.send(BatchID(producer: 1, epoch: 1, sequence: 1), [
            Beacon(app: "shop", platform: .web, visitor: "v1", sentAt: t, receivedAt: t,
                   events: [Event(id: "e1", type: .view, ts: t, duration: 10, name: "Home", url: "/")]),
        ])
        #expect(sender.wait { sender.acknowledged == 1 })
        #expect(d.terminate() == 0, "\(d.stderr)")
        expectReplayClean(databasePath: dir + "/s.db")
    }
}
