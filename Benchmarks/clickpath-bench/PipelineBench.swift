// `clickpath-bench pipeline [--seconds S] [--clients C] [--modes memory,spool,sessiond]
// [--load new-visitors|visits]`: real `collector` and `sessiond` processes on loopback, durable
// (sessiond commits to SQLite), per ack mode: keep-alive clients post beacons of 10 events for S
// seconds (`new-visitors`: ~1 KB, each from a new visitor, the store's worst case; `visits`:
// `SyntheticTraffic` as `bench store` uses, visits of 5-40 beacons from 500 active visitors per
// client, ~1.6 KB with timings, props and errors) while a probe measures
// beacon → queryable through sessiond's query API. The rate counts events answered 202 up to
// the moment sessiond has committed all of them, so a mode that answers early is not flattered.
// The raw SQLite reference of `bench store` runs in this process in the same run.
#if canImport(Glibc)
import Glibc
#endif
import CollectorCore
import Dispatch
import Foundation
import SessionStore
import Synchronization
import System
import Workloads

enum PipelineBench {
    static func say(_ line: String) { Output.say(line) }

    struct BenchError: Error, CustomStringConvertible { var description: String }

    static func run(_ arguments: [String]) -> Int32 {
        // Short by default: --ack=memory outruns sessiond and its backlog drains after the load.
        var seconds = 5.0
        var clients = 8
        var modes = AckMode.allCases
        var visits = false
        var index = 0
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--seconds": seconds = Double(arguments[index + 1]) ?? seconds
            case "--clients": clients = max(1, Int(arguments[index + 1]) ?? clients)
            case "--modes": modes = arguments[index + 1].split(separator: ",").compactMap { AckMode(rawValue: String($0)) }
            case "--load" where ["new-visitors", "visits"].contains(arguments[index + 1]):
                visits = arguments[index + 1] == "visits"
            default:
                say("usage: clickpath-bench pipeline [--seconds S] [--clients C] [--modes memory,spool,sessiond] "
                    + "[--load new-visitors|visits]")
                return 2
            }
            index += 2
        }
        let root = NSTemporaryDirectory() + "clickpath-bench-pipeline-\(getpid())"
        defer { _ = "rm -rf '\(root)'".withCString { system($0) } }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var traffic = SyntheticTraffic(visitors: 20_000, eventsPerBeacon: 10, start: DaemonClock.system.wallMilliseconds() - 120_000)
            let work = traffic.batch(beacons: 20_000)
            let reference = try RawSQLiteReference.run(path: root + "/raw.db", beacons: work) { DispatchTime.now().uptimeNanoseconds }
            removeDatabase(at: root + "/raw.db")
            say("bench pipeline: collector + sessiond processes on loopback, \(clients) keep-alive clients, \(seconds) s per mode, "
                + (visits ? "visits of ~1.6 KB beacons of 10 events (500 active visitors per client)"
                          : "~1 KB beacons of 10 events, each from a new visitor"))
            say("raw SQLite reference: \(Int(reference.rowsPerSecond)) events/s (\(reference.rows) events)")
            for mode in modes {
                let rate = try measure(mode: mode, seconds: seconds, clients: clients, visits: visits,
                                       directory: root + "/" + mode.rawValue)
                say("pipeline ratio \(String(format2: rate / max(1, reference.rowsPerSecond)))x raw SQLite (--ack=\(mode.rawValue))")
            }
            return 0
        } catch {
            say("bench pipeline: \(error)")
            return 1
        }
    }

    /// A daemon whose output goes to a file, read until `marker` shows up.
    final class Daemon {
        let process = Process()
        let output: String

        init(_ executable: String, _ arguments: [String], output: String) throws {
            self.output = output
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let handle = FileHandle(forWritingAtPath: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        /// The text after `marker` up to the end of its line, once it was printed (≤ 30 s).
        func await(_ marker: String) throws -> Substring {
            for _ in 0..<600 {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                if let range = text.range(of: marker), let end = text[range.upperBound...].firstIndex(of: "\n") {
                    return text[range.upperBound..<end]
                }
                if !process.isRunning { break }
                usleep(50_000)
            }
            throw BenchError(description: "\(process.executableURL?.lastPathComponent ?? "daemon") did not start: "
                             + ((try? String(contentsOfFile: output, encoding: .utf8)) ?? ""))
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    static func executable(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
        guard access(path, X_OK) == 0 else { throw BenchError(description: "\(path) not found: build it first (swift build -c release)") }
        return path
    }

    static func measure(mode: AckMode, seconds: Double, clients: Int, visits: Bool, directory: String) throws -> Double {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let apps = directory + "/apps.json"
        // `visits` clients post to apps of their own (shop-0, shop-1, ...): their visitor and event
        // ids are only unique per traffic generator.
        try Data(#"{"apps":{"shop":{"platform":"web","rateLimit":null},"*":{"platform":"web","rateLimit":null}}}"#.utf8)
            .write(to: URL(fileURLWithPath: apps))
        let sessiond = try Daemon(try executable("sessiond"), [
            "--shard-id", "s1", "--db", directory + "/sessiond.db", "--apps", apps, "--wire", "127.0.0.1:0",
            "--http", "127.0.0.1:0"], output: directory + "/sessiond.log")
        defer { sessiond.stop() }
        let ports = try sessiond.await("listening ")
        func port(_ key: String) -> UInt16 {
            ports.split(separator: " ").first { $0.hasPrefix(key) }.flatMap { UInt16($0.split(separator: ":").last ?? "") } ?? 0
        }
        let wire = port("wire="), query = port("http=")
        let collector = try Daemon(try executable("collector"), [
            "--http", "127.0.0.1:0", "--shards", "s1=127.0.0.1:\(wire)", "--data-dir", directory + "/collector",
            "--apps", apps, "--ack", mode.rawValue], output: directory + "/collector.log")
        defer { collector.stop() }
        guard let port = UInt16(try collector.await("listening http=127.0.0.1:")) else { throw BenchError(description: "collector port") }

        let latencies = Mutex<[UInt64]>([])
        let freshness = Mutex<[Double]>([])
        let failures = Atomic<Int>(0)
        let began = DispatchTime.now().uptimeNanoseconds
        let deadline = began + UInt64(seconds * 1e9)
        let finished = DispatchSemaphore(value: 0)
        for client in 0..<clients {
            Thread {
                defer { finished.signal() }
                var mine: [UInt64] = []
                defer { latencies.withLock { $0 += mine } }
                guard let connection = KeepAliveClient(port: port) else { failures.wrappingAdd(1, ordering: .relaxed); return }
                var n = 0
                var traffic = SyntheticTraffic(seed: UInt64(client) &+ 1, visitors: 500, eventsPerBeacon: 10,
                                               millisecondsPerBeacon: 1, start: DaemonClock.system.wallMilliseconds() - 120_000,
                                               app: "shop-\(client)")
                var lastEvent: [String: Int64] = [:]
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    let body = visits ? visitBody(&traffic, lastEvent: &lastEvent)
                                      : CollectorBench.beaconBody(visitor: client * 1_000_000 + n)
                    n += 1
                    let start = DispatchTime.now().uptimeNanoseconds
                    let status = connection.post(body: body)
                    guard status == 202 else {
                        failures.wrappingAdd(1, ordering: .relaxed)
                        if status == 0 { break }
                        continue
                    }
                    mine.append(DispatchTime.now().uptimeNanoseconds - start)
                }
            }.start()
        }
        // The probe: one beacon of a fresh visitor every 100 ms, then sessiond polled until the
        // visitor's session answers with its event.
        Thread {
            defer { finished.signal() }
            guard let connection = KeepAliveClient(port: port) else { return }
            var n = 0
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let visitor = 900_000_000 + n
                n += 1
                let start = DispatchTime.now().uptimeNanoseconds
                guard connection.post(body: CollectorBench.beaconBody(visitor: visitor)) == 202 else {
                    usleep(100_000)
                    continue
                }
                while DispatchTime.now().uptimeNanoseconds < start + 30_000_000_000 {
                    let (status, body) = httpGet(port: query, target: "/v1/visitors/visitor-\(visitor)/sessions?app=shop")
                    if status == 200, body.contains("visitor-\(visitor)") {
                        freshness.withLock { $0.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
                        break
                    }
                    // 2 ms steps while freshness is in the range that needs them, then 20 ms:
                    // polling a backlog of seconds every 2 ms loaded sessiond by ~10%.
                    usleep(DispatchTime.now().uptimeNanoseconds < start + 100_000_000 ? 2_000 : 20_000)
                }
                usleep(100_000)
            }
        }.start()
        for _ in 0...clients { finished.wait() }
        let sorted = latencies.withLock { $0 }.sorted()
        // Every load and probe beacon carries 10 events; wait for sessiond to hold all of them.
        let answered = (sorted.count + freshness.withLock { $0.count }) * 10
        var committed = 0
        let waitUntil = DispatchTime.now().uptimeNanoseconds + 60_000_000_000
        while DispatchTime.now().uptimeNanoseconds < waitUntil {
            committed = sessiondNewEvents(port: query)
            if committed >= answered { break }
            usleep(20_000)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        let rate = Double(min(committed, answered)) / elapsed
        func p(_ values: [Double], _ q: Double) -> String {
            guard !values.isEmpty else { return "n/a" }
            let s = values.sorted()
            return String(format2: s[min(s.count - 1, Int(Double(s.count) * q))])
        }
        let ms = sorted.map { Double($0) / 1e6 }
        let fresh = freshness.withLock { $0 }
        say("--ack=\(mode.rawValue)\(String(repeating: " ", count: 9 - mode.rawValue.count)) \(Int(rate)) events/s stored "
            + "(\(Int(Double(sorted.count * 10) / seconds)) events/s answered 202)  202 latency p50 \(p(ms, 0.5)) ms p99 \(p(ms, 0.99)) ms  "
            + "freshness p50 \(p(fresh, 0.5)) ms p99 \(p(fresh, 0.99)) ms (\(fresh.count) probes)  "
            + "stored \(committed)/\(answered)  failures \(failures.load(ordering: .relaxed))")
        return rate
    }

    /// The next beacon of `traffic`, moved to the present: its events keep their order with a
    /// tenth of their spacing and end about now, after the visitor's previous beacon (a browser's
    /// beacons do not overlap; overlapping ones would make every beacon a late-event
    /// recomputation), `sentAt` at its last event (no clock skew to correct, nothing late).
    static func visitBody(_ traffic: inout SyntheticTraffic, lastEvent: inout [String: Int64]) -> [UInt8] {
        var beacon = traffic.beacon()
        guard let first = beacon.events.first?.ts, let last = beacon.events.last?.ts else { return BeaconJSON.encode(beacon) }
        let span = (last &- first) / 10
        let start = max(DaemonClock.system.wallMilliseconds() &- span, (lastEvent[beacon.visitor] ?? Int64.min) &+ 1)
        for index in beacon.events.indices { beacon.events[index].ts = start &+ (beacon.events[index].ts &- first) / 10 }
        lastEvent[beacon.visitor] = start &+ span
        beacon.sentAt = start &+ span
        return BeaconJSON.encode(beacon)
    }

    /// sessiond's `clickpath_sessiond_events_total{kind="new"}`.
    static func sessiondNewEvents(port: UInt16) -> Int {
        let (_, text) = httpGet(port: port, target: "/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix("clickpath_sessiond_events_total{kind=\"new\"} ") {
            return Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    /// One GET with `Connection: close`: status and body.
    static func httpGet(port: UInt16, target: String) -> (Int, String) {
        let fd = SessiondBench.connect(port: port)
        guard fd >= 0 else { return (0, "") }
        defer { close(fd) }
        let request = "GET \(target) HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let status = Int(text.dropFirst(9).prefix(3)) ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
