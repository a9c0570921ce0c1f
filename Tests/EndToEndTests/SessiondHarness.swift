#if canImport(Glibc)
import Glibc
#endif
import Model
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import TestSupport
import Testing
import Transport
import Wire
import System

/// The one process harness of the real-process tests: finds the executables `swift build` put
/// beside the test binary, starts a daemon with stdout and stderr in files, and waits (polling,
/// bounded) for the `listening` line both daemons print on stdout once every port is bound:
/// `listening http=127.0.0.1:8081 wire=127.0.0.1:7070 shard=s1` (deploy/README.md).
final class DaemonProcess {
    let name: String
    let process = Process()
    private let outputFile: String
    private let errorFile: String
    /// The addresses of the `listening` line by name (`http`, `wire`): host and port.
    private(set) var addresses: [String: (host: String, port: UInt16)] = [:]

    /// Starts `executable` and returns once it printed its `listening` line; throws with its
    /// output when it exits first or prints none within `seconds`.
    init(executable: String, arguments: [String], environment: [String: String] = [:], logs: String,
         seconds: Double = 60) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        outputFile = logs + ".stdout"
        errorFile = logs + ".stderr"
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: outputFile)
        process.standardError = FileHandle(forWritingAtPath: errorFile)
        try process.run()
        let end = Date().addingTimeInterval(seconds)
        while addresses.isEmpty {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }) {
                addresses = Self.parseListening(String(line))
                if addresses.isEmpty { throw HarnessError("\(name): unreadable listening line: \(line)") }
            } else if !process.isRunning || Date() > end {
                if process.isRunning { kill9() }
                throw HarnessError("\(name) did not start: \(stdout) \(stderr)")
            } else {
                usleep(10_000)
            }
        }
    }

    /// `listening http=127.0.0.1:8081 wire=[::1]:7070 shard=s1` → the entries whose value ends in
    /// a port (`shard=` names the shard, not an address).
    static func parseListening(_ line: String) -> [String: (host: String, port: UInt16)] {
        var result: [String: (host: String, port: UInt16)] = [:]
        for field in line.split(separator: " ").dropFirst() {
            guard let equals = field.firstIndex(of: "="), let colon = field.lastIndex(of: ":"), colon > equals,
                  let port = UInt16(field[field.index(after: colon)...]) else { continue }
            var host = String(field[field.index(after: equals)..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            result[String(field[..<equals])] = (host, port)
        }
        return result
    }

    func port(_ name: String) -> UInt16 { addresses[name]?.port ?? 0 }

    var stdout: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and returns the exit status (or the signal that ended it); nil when the
    /// process was still running after a minute (it is then SIGKILLed so no test hangs).
    @discardableResult
    func kill(_ signal: Int32) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        Glibc.kill(process.processIdentifier, signal)
        let end = Date().addingTimeInterval(60)
        while process.isRunning && Date() < end { usleep(10_000) }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() { kill(SIGKILL) }

    deinit {
        if process.isRunning { kill9() }
    }
}

/// An executable built beside this test binary (`sessiond`, `collector`, `clickpath`,
/// `crash-writer`; `swift build` first), or nil.
func builtExecutable(_ name: String) -> String? {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}

/// A real `sessiond` process on a real SQLite file, with ports it picked (or that a restart
/// reuses), driven over real TCP.
final class SessiondProcess {
    let database: String
    let daemon: DaemonProcess
    let wirePort: UInt16
    let httpPort: UInt16

    static var binary: String { builtExecutable("sessiond") ?? "sessiond" }

    /// `standard` flags come first (a short tick and drain by default), then `--apps` when given,
    /// then `extra`.
    init(executable: String = SessiondProcess.binary, database: String, apps: String? = nil,
         wirePort: UInt16 = 0, httpPort: UInt16 = 0, standard: [String] = ["--tick", "100ms", "--drain", "3s"],
         extra: [String] = [], environment: [String: String] = [:]) throws {
        self.database = database
        var arguments = ["--shard-id", "s1", "--db", database, "--wire", "127.0.0.1:\(wirePort)",
                         "--http", "127.0.0.1:\(httpPort)"] + standard
        if let apps {
            arguments += ["--apps", apps]
        } else if !extra.contains("--apps") {
            // sessiond does not start without apps.json: unless the test brings its own, any app is a web app.
            let path = database + ".apps.json"
            try Data(#"{"apps":{"*":{"platform":"web"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
            arguments += ["--apps", path]
        }
        daemon = try DaemonProcess(executable: executable, arguments: arguments + extra, environment: environment,
                                   logs: database)
        self.wirePort = daemon.port("wire")
        self.httpPort = daemon.port("http")
        if self.wirePort == 0 || self.httpPort == 0 {
            throw HarnessError("sessiond's listening line names no wire or http port: \(daemon.stdout)")
        }
    }

    /// sessiond with its database in `directory`, behind a collector: no standard flags. A restart
    /// passes the previous process's ports.
    convenience init(executable: String, directory: String, apps: String, wirePort: UInt16? = nil,
                     httpPort: UInt16? = nil, extra: [String] = []) throws {
        try self.init(executable: executable, database: directory + "/sessiond.db", apps: apps,
                      wirePort: wirePort ?? 0, httpPort: httpPort ?? 0, standard: [], extra: extra)
    }

    var process: Process { daemon.process }
    var stderr: String { daemon.stderr }

    /// SIGTERM and wait; the exit status.
    func terminate() -> Int32 { daemon.kill(SIGTERM) ?? -1 }

    /// SIGTERM and wait; does nothing once the process has ended (a `defer` may stop a process
    /// already replaced).
    func stop() { daemon.kill(SIGTERM) }

    func kill9() { daemon.kill9() }

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

/// A running `collector` process and the HTTP port of its `listening` line.
final class CollectorProcess {
    let daemon: DaemonProcess
    let port: UInt16

    /// Its logs go beside its `--data-dir` (or under /tmp when none is given).
    init(executable: String, arguments: [String]) throws {
        let dataDir = arguments.firstIndex(of: "--data-dir").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        let logs = (dataDir ?? NSTemporaryDirectory() + "collector-\(UInt64.random(in: 0...UInt64.max))") + "-collector"
        daemon = try DaemonProcess(executable: executable, arguments: arguments, logs: logs)
        port = daemon.port("http")
        if port == 0 { throw HarnessError("collector's listening line names no http port: \(daemon.stdout)") }
    }

    var process: Process { daemon.process }

    /// Sends `signal` and returns the exit status (or the signal that ended it); nil when the
    /// process was still running after a minute (it is then SIGKILLed so no test hangs).
    func kill(_ signal: Int32) -> Int32? { daemon.kill(signal) }
}

/// Polls `condition` every 10 ms until it holds or `seconds` passed; whether it held.
func poll(seconds: Double = 30, until condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
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
    func wait(seconds: Double = 30, until condition: () -> Bool) -> Bool { poll(seconds: seconds, until: condition) }

    func stop() {
        client.stop()
        loop.stop()
        loop.waitUntilStopped()
    }
}

func temporaryDirectory() throws -> String { TemporaryDirectory().path }

func nowMillis() -> Int64 { nowMilliseconds() }
