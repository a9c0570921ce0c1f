import Model
import Config
import Foundation
import SessiondCore
import SessionStore
import Synchronization
import Transport
import Wire
#if canImport(Glibc)
import Glibc
import Workloads
#endif
import System

/// `clickpath-bench sessiond [--batches N] [--beacons N] [--sessions N] [--queries N] [--dir DIR]`:
/// in one run, (a) the raw-SQLite reference of the store bench on the same events, pinned to
/// core 0; (b) a real `sessiond` process pinned to core 0 fed over real TCP (Wire, acks after
/// commit, at most the negotiated window in flight) by this process pinned to core 1; prints
/// events/s, ack p50/p99, freshness p99 and the ratio; (c) list-query latency p50/p99 over HTTP
/// on a database of `--sessions` sessions (default 1M).
enum SessiondBench {
    static func say(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
    }

    static func run(_ arguments: [String]) -> Int32 {
        var batches = 200
        var beaconsPerBatch = 100
        var sessions = 1_000_000
        var queries = 40
        var directory = NSTemporaryDirectory() + "clickpath-bench-sessiond"
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch arguments[index] {
            case "--batches": batches = max(1, Int(value) ?? batches)
            case "--beacons": beaconsPerBatch = max(1, Int(value) ?? beaconsPerBatch)
            case "--sessions": sessions = max(1, Int(value) ?? sessions)
            case "--queries": queries = max(1, Int(value) ?? queries)
            case "--dir": directory = value
            default:
                say("usage: clickpath-bench sessiond [--batches N] [--beacons N] [--sessions N] [--queries N] [--dir DIR]")
                return 2
            }
            index += 2
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try measure(batches: batches, beaconsPerBatch: beaconsPerBatch, sessions: sessions, queries: queries,
                        directory: directory)
            return 0
        } catch {
            say("bench sessiond: \(error)")
            return 1
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String
    }

    static func pinSelf(_ core: Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        p.arguments = ["-a", "-cp", "\(core)", "\(getpid())"]
        p.standardOutput = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
    }

    static var sessiondBinary: String {
        URL(fileURLWithPath: "/proc/self/exe".resolvingSymlinksInPath).deletingLastPathComponent()
            .appendingPathComponent("sessiond").path
    }

    final class Daemon {
        let process = Process()
        var wirePort: UInt16 = 0
        var httpPort: UInt16 = 0

        init(database: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            let apps = database + ".apps.json"
            try Data(#"{"apps":{"*":{"platform":"web","rateLimit":null}}}"#.utf8).write(to: URL(fileURLWithPath: apps))
            process.arguments = ["-c", "0", SessiondBench.sessiondBinary, "--shard-id", "bench", "--db", database,
                                 "--apps", apps, "--wire", "127.0.0.1:0", "--http", "127.0.0.1:0", "--readers", "1",
                                 "--query-timeout", "30s"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            var line = ""
            while !line.hasSuffix("\n") {
                let data = out.fileHandleForReading.readData(ofLength: 1)
                if data.isEmpty { break }
                line += String(decoding: data, as: UTF8.self)
            }
            for part in line.split(separator: " ") {
                let port = UInt16(part.split(separator: ":").last ?? "") ?? 0
                if part.hasPrefix("wire=") { wirePort = port }
                if part.hasPrefix("http=") { httpPort = port }
            }
            guard wirePort != 0 else { throw BenchError(description: "sessiond did not start (\(line)); build it first") }
        }

        func stop() {
            if socket >= 0 { close(socket) }
            process.terminate()
            process.waitUntilExit()
        }

        private var socket: Int32 = -1

        /// One GET over a kept-alive connection (a minimal HTTP/1.1 client: the bench measures
        /// sessiond, not a client library).
        func get(_ target: String) -> (Int, Data) {
            if socket < 0 { socket = SessiondBench.connect(port: httpPort) }
            let request = "GET \(target) HTTP/1.1\r\nHost: bench\r\n\r\n"
            _ = request.withCString { Glibc.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var received: [UInt8] = []
            var headerEnd: Int?
            var length = 0
            while true {
                let n = recv(socket, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += buffer[0..<n]
                if headerEnd == nil, let end = received.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                    headerEnd = end
                    let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
                    if let r = head.range(of: "content-length: ") {
                        length = Int(head[r.upperBound...].prefix { $0.isNumber }) ?? 0
                    }
                }
                if let end = headerEnd, received.count >= end + length { break }
            }
            let status = Int(String(decoding: received.dropFirst(9).prefix(3), as: UTF8.self)) ?? 0
            return (status, Data(received.dropFirst(headerEnd ?? received.count)))
        }
    }

    static func connect(port: UInt16) -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }

    static func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

    static func measure(batches: Int, beaconsPerBatch: Int, sessions: Int, queries: Int, directory: String) throws {
        let start = DaemonClock.system.wallMilliseconds() - 120_000
        var traffic = SyntheticTraffic(visitors: 20_000, eventsPerBeacon: 10, start: start)
        let work = (0..<batches).map { _ in traffic.batch(beacons: beaconsPerBatch) }
        let events = work.reduce(0) { $0 + $1.reduce(0) { $0 + $1.events.count } }
        say("bench sessiond: \(batches) batches of \(beaconsPerBatch) beacons, \(events) events; sessiond and the reference on core 0, load on core 1")

        // (a) The reference, on the core sessiond will use.
        pinSelf(0)
        let reference = try RawSQLiteReference.run(path: directory + "/raw.db", beacons: work.flatMap { $0 }) {
            UInt64(DaemonClock.system.monotonicSeconds() * 1e9)
        }
        removeDatabase(at: directory + "/raw.db")
        say("raw SQLite reference: \(f(reference.rowsPerSecond, 0)) events/s")

        // (b) sessiond over TCP.
        pinSelf(1)
        removeDatabase(at: directory + "/ingest.db")
        let daemon = try Daemon(database: directory + "/ingest.db")
        let result = try load(work, port: daemon.wirePort)
        let metrics = String(decoding: daemon.get("/metrics").1, as: UTF8.self)
        daemon.stop()
        removeDatabase(at: directory + "/ingest.db")
        let rate = Double(events) / result.seconds
        say("sessiond durable ingest: \(f(rate, 0)) events/s, ack p50 \(f(result.p50 * 1000, 2)) ms, p99 \(f(result.p99 * 1000, 2)) ms")
        say("freshness p99 (receivedAt to commit, histogram bucket bound): \(freshnessP99(metrics).map { f($0 * 1000, 1) + " ms" } ?? "n/a")")
        say("sessiond ratio \(f(rate / reference.rowsPerSecond, 2))x raw SQLite")

        // (c) List queries on a big database.
        pinSelf(1)
        let big = directory + "/sessions-\(sessions).db"
        if !FileManager.default.fileExists(atPath: big) {
            let began = DaemonClock.system.monotonicSeconds()
            try populate(path: big, sessions: sessions)
            say("built \(sessions) sessions in \(f(DaemonClock.system.monotonicSeconds() - began)) s (kept in \(big) for the next run)")
        }
        let query = try Daemon(database: big)
        defer { query.stop() }
        let shapes = ["/v1/sessions?app=shop", "/v1/sessions?app=shop&browser=Firefox",
                      "/v1/sessions?app=shop&minErrors=1&not.browser=Chrome", "/v1/sessions?app=shop&sort=duration",
                      "/v1/sessions?app=shop&page=/checkout&from=now-6h", "/v1/sessions"]
        // Warm up, then let the new shard settle (its first watermark step completes the sessions
        // that timed out since the database was built) so the figures are those of a quiet shard.
        for shape in shapes { _ = query.get(shape) }
        sleep(3)
        for shape in shapes {
            var times: [Double] = []
            var status = 0
            for _ in 0..<queries {
                let t0 = DaemonClock.system.monotonicSeconds()
                status = query.get(shape).0
                times.append(DaemonClock.system.monotonicSeconds() - t0)
            }
            say("list \(shape): p50 \(f(percentile(times, 0.5) * 1000, 2)) ms, p99 \(f(percentile(times, 0.99) * 1000, 2)) ms (status \(status))")
        }
    }

    struct LoadResult {
        var seconds: Double
        var p50: Double
        var p99: Double
    }

    /// Closed loop: at most the window in flight; the next batch goes out when an ack arrives.
    static func load(_ work: [[Beacon]], port: UInt16) throws -> LoadResult {
        final class State: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var sentAt: [Double]
            var latencies: [Double] = []
            let done = DispatchSemaphore(value: 0)
            init(_ n: Int) { sentAt = Array(repeating: 0, count: n) }
        }
        let loop = try EventLoop.start(name: "bench-load")
        guard let address = SocketAddress(host: "127.0.0.1", port: port) else { throw BenchError(description: "address") }
        let state = State(work.count)
        let total = work.count
        nonisolated(unsafe) var client: WireClient?
        // Like a collector: `receivedAt` is stamped when the batch is sent, so sessiond's
        // freshness histogram measures receipt to commit.
        let sendNext: @Sendable () -> Void = {
            state.lock.lock()
            let i = state.next
            guard i < total else { state.lock.unlock(); return }
            state.next += 1
            state.sentAt[i] = DaemonClock.system.monotonicSeconds()
            state.lock.unlock()
            let received = DaemonClock.system.wallMilliseconds()
            let beacons = work[i].map { beacon -> Beacon in
                var b = beacon
                b.receivedAt = received
                return b
            }
            let id = BatchID(producer: 1, epoch: 1, sequence: UInt64(i))
            guard let frame = try? Message.eventBatch(EventBatch(batchID: id, beacons: beacons)).encodeFrame() else { return }
            client?.send(frame: frame)
        }
        client = WireClient(loop: loop, address: address,
                            hello: Hello(role: .collector, nodeID: "bench", softwareVersion: "bench", expectedShardID: "bench"),
                            handlers: WireClientHandlers(
                                ready: { negotiated in
                                    for _ in 0..<Int(negotiated.maxInFlightBatches) { sendNext() }
                                },
                                message: { message in
                                    guard case .batchAck(let ack) = message else { return }
                                    let now = DaemonClock.system.monotonicSeconds()
                                    state.lock.lock()
                                    let i = Int(ack.batchID.sequence)
                                    if i < state.sentAt.count { state.latencies.append(now - state.sentAt[i]) }
                                    let finished = state.latencies.count == total
                                    state.lock.unlock()
                                    if finished { state.done.signal() } else { sendNext() }
                                }))
        let began = DaemonClock.system.monotonicSeconds()
        client?.start()
        state.done.wait()
        let seconds = DaemonClock.system.monotonicSeconds() - began
        client?.stop()
        loop.stop()
        loop.waitUntilStopped()
        return LoadResult(seconds: seconds, p50: percentile(state.latencies, 0.5), p99: percentile(state.latencies, 0.99))
    }

    static func freshnessP99(_ metrics: String) -> Double? {
        var buckets: [(Double, Double)] = []
        var count = 0.0
        for line in metrics.split(separator: "\n") where line.hasPrefix("clickpath_sessiond_freshness_seconds") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if line.hasPrefix("clickpath_sessiond_freshness_seconds_count") { count = value }
            if let range = line.range(of: "le=\""), let end = line[range.upperBound...].firstIndex(of: "\"") {
                let bound = String(line[range.upperBound..<end])
                buckets.append((bound == "+Inf" ? .infinity : Double(bound) ?? .infinity, value))
            }
        }
        guard count > 0 else { return nil }
        return buckets.first { $0.1 >= 0.99 * count }?.0
    }

    /// `sessions` one-visitor sessions over the last day written straight through SessionStore.
    static func populate(path: String, sessions: Int) throws {
        removeDatabase(at: path + ".tmp")
        let now = DaemonClock.system.wallMilliseconds()
        let store = try SessionStore(path: path + ".tmp", now: now) { _, platform in SessionRules.defaults(for: platform) }
        let browsers = ["Chrome", "Firefox", "Safari", "Edge"]
        let pages = ["/", "/products", "/cart", "/checkout", "/search"]
        var sequence: UInt64 = 0
        var i = 0
        while i < sessions {
            var beacons: [Beacon] = []
            for _ in 0..<min(1000, sessions - i) {
                let t = now - 86_400_000 + Int64(i) * 86_400_000 / Int64(sessions)
                var events = [
                    Event(id: "v", type: .view, ts: t, duration: Int64(100 + i % 3000), name: pages[i % 5], url: pages[i % 5]),
                    Event(id: "a", type: .action, ts: t + 500, duration: Int64(200 + i % 7000), name: "click", parent: "v"),
                ]
                if i % 10 == 0 { events.append(Event(id: "e", type: .error, ts: t + 600, parent: "a", message: "boom \(i % 50)")) }
                beacons.append(Beacon(app: i % 20 == 0 ? "blog" : "shop", platform: .web, visitor: "bv\(i)",
                                      device: Device(browser: browsers[i % 4], os: "Linux"), sentAt: t, receivedAt: t,
                                      events: events))
                i += 1
            }
            sequence += 1
            _ = try store.apply(batch: BatchID(producer: 99, epoch: 1, sequence: sequence), beacons: beacons, now: now)
        }
        _ = try store.advance(watermark: now, now: now)
        try store.checkpoint()
        rename(path + ".tmp", path)
        rename(path + ".tmp-wal", path + "-wal")
        rename(path + ".tmp-shm", path + "-shm")
    }
}

private extension String {
    var resolvingSymlinksInPath: String { URL(fileURLWithPath: self).resolvingSymlinksInPath().path }
}
