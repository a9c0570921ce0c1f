// `clickpath-bench collector [--seconds S] [--clients C]`: the collector end to end over real
// HTTP and a real Wire connection, per ack mode, against a stand-in shard that acknowledges
// every batch at once (no SQLite: that is `bench pipeline` with sessiond). `memory` is the
// same-run reference, so the ratios show what durability costs.
#if canImport(Glibc)
import Glibc
#endif
import CollectorCore
import Config
import Dispatch
import Foundation
import Synchronization
import Transport
import Wire
import System

enum CollectorBench {
    static func say(_ line: String) { Output.say(line) }

    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 5.0
        var clients = 8
        var modes = AckMode.allCases
        var index = 0
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--seconds": seconds = Double(arguments[index + 1]) ?? seconds
            case "--clients": clients = Int(arguments[index + 1]) ?? clients
            case "--modes": modes = arguments[index + 1].split(separator: ",").compactMap { AckMode(rawValue: String($0)) }
            default:
                say("usage: clickpath-bench collector [--seconds S] [--clients C] [--modes memory,spool,sessiond]")
                return 2
            }
            index += 2
        }
        say("bench collector: \(clients) keep-alive clients, \(seconds) s per mode, ~1 KB beacons of 10 events, stand-in shard acking at once")
        var rates: [AckMode: Double] = [:]
        for mode in modes {
            do {
                rates[mode] = try measure(mode: mode, seconds: seconds, clients: clients)
            } catch {
                say("bench collector (\(mode.rawValue)): \(error)")
                return 1
            }
        }
        if let reference = rates[.memory], reference > 0 {
            for mode in [AckMode.spool, .sessiond] {
                say("collector ratio \(String(format2: (rates[mode] ?? 0) / reference))x memory (--ack=\(mode.rawValue))")
            }
        }
        return 0
    }

    static func beaconBody(visitor: Int) -> [UInt8] {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
        let events = (0..<10).map { i in
            #"{"id":"e\#(visitor)-\#(now)-\#(i)","type":"\#(i == 0 ? "view" : "action")","ts":\#(now),"name":"click #\#(i)","url":"https://shop.example.com/cart?item=\#(i)","duration":120}"#
        }.joined(separator: ",")
        return Array(#"{"app":"shop","platform":"web","visitor":"visitor-\#(visitor)","session":"s-\#(visitor)","sentAt":\#(now),"events":[\#(events)]}"#.utf8)
    }

    static func measure(mode: AckMode, seconds: Double, clients: Int) throws -> Double {
        let root = "/tmp/clickpath-bench-collector-\(getpid())-\(mode.rawValue)"
        defer { _ = "rm -rf '\(root)'".withCString { system($0) } }
        let shardLoop = try EventLoop.start(name: "bench-shard")
        let shard = try WireServer.start(identity: WireServerIdentity(shardID: "s1", nodeID: "bench", maxInFlightBatches: 64),
                                         on: [shardLoop], handlers: WireServerHandlers(message: { connection, message in
            guard case let .eventBatch(batch) = message else { return }
            connection.send(.batchAck(BatchAck(batchID: batch.batchID, outcome: .committed,
                                               acceptedEvents: UInt32(batch.eventCount), duplicateEvents: 0)))
        }))
        defer {
            shard.stop()
            shardLoop.stop()
        }
        guard let address = SocketAddress(host: "127.0.0.1", port: shard.port) else { return 0 }
        var configuration = CollectorConfiguration(dataDirectory: root, shards: [ShardEndpoint(id: "s1", address: address)])
        configuration.httpHost = "127.0.0.1"
        configuration.httpPort = 0
        configuration.pipeline = PipelineOptions(ackMode: mode)
        let apps = AppConfigStore(config: AppConfig(apps: [AppSettings(id: "shop", platform: .web, rateLimit: nil)]))
        let service = try CollectorService.start(configuration, apps: apps, log: Log { _ in })
        let port = service.httpPort

        let latencies = Mutex<[UInt64]>([])
        let failures = Atomic<Int>(0)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        // One thread per client (the concurrency pool would run only as many as there are cores).
        let finished = DispatchSemaphore(value: 0)
        for client in 0..<clients {
            let thread = Thread {
                defer { finished.signal() }
                var mine: [UInt64] = []
                guard let connection = KeepAliveClient(port: port) else {
                    failures.wrappingAdd(1, ordering: .relaxed)
                    return
                }
                var n = 0
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    let body = beaconBody(visitor: client * 1_000_000 + n)
                    n += 1
                    let start = DispatchTime.now().uptimeNanoseconds
                    let status = connection.post(body: body)
                    guard status == 202 else {
                        failures.wrappingAdd(1, ordering: .relaxed)
                        // 0: the connection broke or the answer never came; it cannot be reused.
                        if status == 0 { break }
                        continue
                    }
                    mine.append(DispatchTime.now().uptimeNanoseconds - start)
                }
                latencies.withLock { $0 += mine }
            }
            thread.start()
        }
        for _ in 0..<clients { finished.wait() }
        _ = service.shutdown()
        let sorted = latencies.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rate = Double(sorted.count) / seconds
        func percentile(_ p: Double) -> String {
            let value = Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
            return String(format2: value)
        }
        say("--ack=\(mode.rawValue)\(String(repeating: " ", count: 9 - mode.rawValue.count)) \(Int(rate)) beacons/s  \(Int(rate * 10)) events/s  202 latency p50 \(percentile(0.5)) ms  p99 \(percentile(0.99)) ms  failures \(failures.load(ordering: .relaxed))")
        return rate
    }
}

/// A blocking HTTP/1.1 keep-alive client for the bench: one request at a time.
final class KeepAliveClient {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private let port: UInt16
    private let path: String

    init?(port: UInt16, path: String = "/v1/beacons") {
        self.port = port
        self.path = path
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // A lost answer shows up as a failure after 10 s instead of hanging the bench.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Returns the status, or 0 when the connection broke.
    func post(body: [UInt8]) -> Int {
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return 0 }
            sent += n
        }
        var response: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return 0 }
            response += buffer[0..<n]
            guard let end = headerEnd(response) else { continue }
            let headers = String(decoding: response[0..<end], as: UTF8.self).lowercased()
            var length = 0
            if let range = headers.range(of: "content-length:") {
                length = Int(headers[range.upperBound...].prefix { $0 != "\r" }.trimmingCharacters()) ?? 0
            }
            if response.count >= end + 4 + length {
                return Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
        }
    }

    private func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
