import Model
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
import Transport
import Wire

/// A real `sessiond` process on a real SQLite file, with ports it picked (or that a restart
/// reuses), driven over real TCP.
final class SessiondProcess {
    let database: String
    let process: Process
    let wirePort: UInt16
    let httpPort: UInt16
    private let stderrFile: String

    static var binary: String {
        // The test bundle sits in the build folder beside the products (`swift build` first).
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = dir
        for _ in 0..<3 {
            let path = candidate.appendingPathComponent("sessiond").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            candidate = candidate.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("sessiond").path
    }

    init(database: String, wirePort: UInt16 = 0, httpPort: UInt16 = 0, extra: [String] = [],
         environment: [String: String] = [:]) throws {
        self.database = database
        stderrFile = database + ".stderr"
        _ = FileManager.default.createFile(atPath: stderrFile, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        // sessiond does not start without apps.json: unless the test brings its own, any app is a web app.
        var apps: [String] = []
        if !extra.contains("--apps") {
            let path = database + ".apps.json"
            try Data(#"{"apps":{"*":{"platform":"web"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
            apps = ["--apps", path]
        }
        process.arguments = ["--shard-id", "s1", "--db", database, "--wire", "127.0.0.1:\(wirePort)",
                             "--http", "127.0.0.1:\(httpPort)", "--tick", "100ms", "--drain", "3s"] + apps + extra
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: stderrFile)
        try process.run()
        // The first line says which ports were bound.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        func port(_ key: String) -> UInt16 {
            guard let range = text.range(of: key + "=") else { return 0 }
            return UInt16(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        self.wirePort = port("wire")
        self.httpPort = port("http")
        if self.wirePort == 0 {
            throw HarnessError("sessiond did not start: \(text) \(stderr)")
        }
    }

    var stderr: String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait; the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill9() }
    }

    // MARK: HTTP

    struct Answer {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func http(_ method: String, _ target: String, headers: [String: String] = [:]) throws -> Answer {
        guard let url = URL(string: "http://127.0.0.1:\(httpPort)\(target)") else { throw HarnessError("bad url \(target)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let box = Mutex<Answer?>(nil)
        let done = DispatchSemaphore(value: 0)
        let config = URLSessionConfiguration.ephemeral
        let session = URLSession(configuration: config)
        let task = session.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (k, v) in http.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
                box.withLock { $0 = Answer(status: http.statusCode, body: data ?? Data(), headers: headers) }
            }
            done.signal()
        }
        task.resume()
        _ = done.wait(timeout: .now() + 30)
        session.finishTasksAndInvalidate()
        guard let answer = box.withLock({ $0 }) else { throw HarnessError("no answer to \(method) \(target)") }
        return answer
    }

    func get(_ target: String) throws -> Answer { try http("GET", target) }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A collector-like Wire client: sends batches within the shard's window, collects acks, and
/// re-sends unacknowledged batches in order after a reconnect (what the collector's `SendWindow`
/// does; Transport's `WireClient` only connects and moves frames).
final class BatchSender: Sendable {
    final class Acks: Sendable {
        let byID = Mutex<[BatchID: BatchAck]>([:])
        let received = Atomic<Int>(0)
        let disconnects = Mutex<[WireCloseReason]>([])
        let window = Mutex(Window())
    }

    /// Unacknowledged frames in send order; the first `inFlight` of them are on the connection.
    struct Window {
        var frames: [(id: BatchID, frame: [UInt8])] = []
        var inFlight = 0
        var size = 0
        /// The GoAway's reason while its window drains: nothing new is sent.
        var goAway: String?

        /// After a GoAway: the reason to renew the connection with once nothing is in flight.
        mutating func drained() -> String? {
            guard let reason = goAway, inFlight == 0 else { return nil }
            goAway = nil
            return reason
        }

        /// Frames that may go out now.
        mutating func take() -> [[UInt8]] {
            let end = min(frames.count, size)
            guard goAway == nil, inFlight < end else { return [] }
            defer { inFlight = end }
            return frames[inFlight..<end].map(\.frame)
        }
    }

    let loop: EventLoop
    let client: WireClient
    private let acks = Acks()

    init(port: UInt16, shard: String = "s1") throws {
        loop = try EventLoop.start(name: "test-client")
        guard let address = SocketAddress(host: "127.0.0.1", port: port) else { throw HarnessError("address") }
        let acks = acks
        let shared = acks
        var settings = WireSettings()
        settings.connectTimeout = 2
        nonisolated(unsafe) var client: WireClient?
        let pump: @Sendable () -> Void = {
            for frame in shared.window.withLock({ $0.take() }) { client?.send(frame: frame) }
        }
        client = WireClient(loop: loop, address: address,
                            hello: Hello(role: .collector, nodeID: "test-collector", softwareVersion: "test",
                                         expectedShardID: shard),
                            settings: settings,
                            backoff: ReconnectBackoff(initial: 0.05, maximum: 0.3, multiplier: 2),
                            handlers: WireClientHandlers(ready: { parameters in
                                shared.window.withLock { $0.size = Int(parameters.maxInFlightBatches) }
                                pump()
                            }, message: { message in
                                switch message {
                                case .batchAck(let ack):
                                    let drained = shared.window.withLock { w -> String? in
                                        if let index = w.frames.firstIndex(where: { $0.id == ack.batchID }) {
                                            w.frames.remove(at: index)
                                            if index < w.inFlight { w.inFlight -= 1 }
                                        }
                                        return w.drained()
                                    }
                                    acks.byID.withLock { $0[ack.batchID] = ack }
                                    acks.received.add(1, ordering: .relaxed)
                                    if let drained { client?.reconnect(reason: drained) } else { pump() }
                                case .goAway(let goAway):
                                    let drained = shared.window.withLock { w -> String? in
                                        w.goAway = goAway.reason
                                        return w.drained()
                                    }
                                    if let drained { client?.reconnect(reason: drained) }
                                default:
                                    break
                                }
                            }, disconnected: { reason, _ in
                                // Everything unanswered goes again, in order, on the next connection.
                                shared.window.withLock { $0.inFlight = 0; $0.size = 0; $0.goAway = nil }
                                acks.disconnects.withLock { $0.append(reason) }
                            }))
        self.client = client!
        self.client.start()
        self.pump = pump
    }

    private let pump: @Sendable () -> Void

    func send(_ id: BatchID, _ beacons: [Beacon]) throws {
        let frame = try Message.eventBatch(EventBatch(batchID: id, beacons: beacons)).encodeFrame()
        acks.window.withLock { $0.frames.append((id, frame)) }
        pump()
    }

    func ack(_ id: BatchID) -> BatchAck? { acks.byID.withLock { $0[id] } }
    var acknowledged: Int { acks.byID.withLock { $0.count } }
    var acksReceived: Int { acks.received.load(ordering: .relaxed) }
    var disconnects: [WireCloseReason] { acks.disconnects.withLock { $0 } }

    /// Waits (polling, bounded) until `condition` holds; false on timeout.
    func wait(seconds: Double = 30, until condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func stop() {
        client.stop()
        loop.stop()
        loop.waitUntilStopped()
    }
}

func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "sessiond-e2e-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
