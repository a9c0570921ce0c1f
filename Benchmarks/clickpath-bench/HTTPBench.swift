// `clickpath-bench http`: our HTTP server against nginx in the same run, same load generator,
// same ~1 KB POST. Servers are pinned to core 0, wrk to core 1, so the ratio is fair on 2 cores.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Transport
import System

enum HTTPBench {
    static let body = "{\"app\":\"bench\",\"platform\":\"web\",\"visitor\":\"v-0123456789\",\"sentAt\":1700000000000,\"events\":["
        + (0..<7).map { "{\"id\":\"e\($0)\",\"type\":\"action\",\"ts\":170000000000\($0),\"name\":\"click #buy-button-\($0)\",\"duration\":120,\"url\":\"https://shop.example.com/p/\($0)\"}" }
            .joined(separator: ",") + "]}"

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.first == "--serve" { return serve(edgeTriggered: !arguments.contains("--level")) }
        if arguments.first == "--load" { return BuiltInLoad.run(Array(arguments.dropFirst())) }
        var duration = 5
        var connections = 50
        var rounds = 3
        var level = false
        var builtIn = false
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--duration": index += 1; duration = Int(arguments[safe: index] ?? "") ?? duration
            case "--connections": index += 1; connections = Int(arguments[safe: index] ?? "") ?? connections
            case "--rounds": index += 1; rounds = max(1, Int(arguments[safe: index] ?? "") ?? rounds)
            case "--level": level = true
            case "--built-in-load": builtIn = true
            default:
                say("usage: clickpath-bench http [--duration SECONDS] [--connections N] [--rounds N] [--level] [--built-in-load]")
                return 2
            }
            index += 1
        }
        let wrk = builtIn ? nil : which("wrk")
        if wrk == nil && !builtIn {
            say("bench http: wrk is not installed (apt-get install -y wrk); using the built-in load generator")
        }
        guard let nginx = which("nginx") ?? (FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") ? "/usr/sbin/nginx" : nil) else {
            say("bench http: nginx is not installed; install it with: apt-get install -y nginx")
            return 1
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("clickpath-bench-http-\(getpid())")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let script = work.appendingPathComponent("post.lua").path
        try? """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.body = '\(body)'
        """.write(toFile: script, atomically: true, encoding: .utf8)

        say("bench http: \(body.utf8.count)-byte POST, \(wrk == nil ? "built-in load" : "wrk -t1") -c\(connections) -d\(duration)s on core 1, servers on core 0, "
            + "\(rounds) alternating rounds, \(level ? "level" : "edge")-triggered epoll")
        guard let nginxServer = startNginx(nginx: nginx, work: work) else { return 1 }
        defer { nginxServer.stop() }
        guard let ourServer = startOurs(level: level) else { return 1 }
        defer { ourServer.stop() }

        var nginxRounds: [Result] = [], ourRounds: [Result] = []
        for round in 1...rounds {
            for (name, server) in [("nginx", nginxServer), ("clickpath", ourServer)] {
                guard let result = load(pid: server.pid, port: server.port, wrk: wrk, script: script,
                                        connections: connections, duration: duration) else { return 1 }
                say(String(format: "  round %d %-10@ %9.0f req/s   p50 %7.3f ms   p99 %7.3f ms   cpu %6.2f us/req",
                           round, name as NSString, result.requestsPerSecond, result.p50ms, result.p99ms, result.cpuMicrosPerRequest))
                if name == "nginx" { nginxRounds.append(result) } else { ourRounds.append(result) }
            }
        }
        // The best round of each: on a shared box, noise only ever slows a server down.
        let nginxResult = summary(nginxRounds), ours = summary(ourRounds)
        for (name, r) in [("nginx", nginxResult), ("clickpath", ours)] {
            say(String(format: "%-10@ %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms   cpu %6.2f us/req   (best of %d; %d non-2xx)",
                       name as NSString, r.requestsPerSecond, r.p50ms, r.p99ms, r.cpuMicrosPerRequest, rounds, r.errors))
        }
        let ratio = ours.requestsPerSecond / max(nginxResult.requestsPerSecond, 1)
        let cpuRatio = nginxResult.cpuMicrosPerRequest / max(ours.cpuMicrosPerRequest, 0.001)
        say(String(format: "http cpu ratio %.2fx nginx (nginx cpu per request / ours)", cpuRatio))
        say(String(format: "http ratio %.2fx nginx", ratio))
        return ours.errors == 0 ? 0 : 1
    }

    /// Highest throughput round with its latencies; lowest CPU per request over the rounds.
    static func summary(_ rounds: [Result]) -> Result {
        var best = rounds.max { $0.requestsPerSecond < $1.requestsPerSecond } ?? Result()
        best.cpuMicrosPerRequest = rounds.map(\.cpuMicrosPerRequest).min() ?? 0
        best.errors = rounds.reduce(0) { $0 + $1.errors }
        return best
    }

    final class RunningServer {
        let process: Process
        let port: UInt16
        let input: Pipe?
        var pid: Int32 { process.processIdentifier }

        init(process: Process, port: UInt16, input: Pipe?) {
            self.process = process
            self.port = port
            self.input = input
        }

        func stop() {
            if let input {
                try? input.fileHandleForWriting.close()
            } else {
                process.terminate()
            }
            process.waitUntilExit()
        }
    }

    struct Result {
        var requestsPerSecond = 0.0
        var p50ms = 0.0
        var p99ms = 0.0
        var requests = 0
        var errors = 0
        var cpuMicrosPerRequest = 0.0
    }

    // MARK: the servers

    /// Child mode: one loop, a handler that answers 204 once the body is read; prints the port,
    /// runs until stdin closes.
    static func serve(edgeTriggered: Bool) -> Int32 {
        var router = HTTPRouter()
        router.add(.post, "/v1/beacons") { request, responder in
            if request.body.isEmpty {
                responder.respond(status: 400)
            } else {
                responder.respond(status: 204)
            }
        }
        var configuration = HTTPServerConfiguration()
        configuration.edgeTriggered = edgeTriggered
        let server: HTTPServer
        do {
            server = try HTTPServer.start(configuration, router: router)
        } catch {
            say("serve: \(error)")
            return 1
        }
        say("listening http=\(server.port)", fd: 1)
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        server.stop()
        return 0
    }

    static func startNginx(nginx: String, work: URL) -> RunningServer? {
        let prefix = work.appendingPathComponent("nginx").path
        try? FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        let port = freePort()
        let config = """
        worker_processes 1;
        master_process off;
        daemon off;
        error_log \(prefix)/logs/error.log crit;
        pid \(prefix)/nginx.pid;
        events { worker_connections 4096; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/body;
            proxy_temp_path \(prefix)/proxy;
            fastcgi_temp_path \(prefix)/fastcgi;
            uwsgi_temp_path \(prefix)/uwsgi;
            scgi_temp_path \(prefix)/scgi;
            keepalive_requests 100000000;
            keepalive_timeout 60s;
            server {
                listen 127.0.0.1:\(port);
                location / { return 204; }
            }
        }
        """
        let configPath = prefix + "/nginx.conf"
        try? config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", "0", nginx, "-p", prefix, "-c", configPath]
        do { try process.run() } catch {
            say("bench http: cannot start nginx: \(error)")
            return nil
        }
        let server = RunningServer(process: process, port: port, input: nil)
        guard waitForPort(port) else {
            say("bench http: nginx did not start; see \(prefix)/logs/error.log")
            server.stop()
            return nil
        }
        return server
    }

    static func startOurs(level: Bool) -> RunningServer? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", "0", "/proc/self/exe".resolvingSymlink, "http", "--serve"] + (level ? ["--level"] : [])
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch {
            say("bench http: cannot start our server: \(error)")
            return nil
        }
        var line = ""
        let handle = output.fileHandleForReading
        while !line.hasSuffix("\n") {
            let data = handle.readData(ofLength: 1)
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        let server = RunningServer(process: process, port: 0, input: input)
        guard line.hasPrefix("listening http="), let port = UInt16(line.dropFirst(15).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            say("bench http: our server did not start: \(line)")
            server.stop()
            return nil
        }
        return RunningServer(process: process, port: port, input: input)
    }

    // MARK: load and measurement

    static func load(pid: Int32, port: UInt16, wrk: String?, script: String, connections: Int, duration: Int) -> Result? {
        let url = "http://127.0.0.1:\(port)/v1/beacons"
        func generate(_ seconds: Int, measure: Bool) -> Result? {
            guard let wrk else {
                let arguments = ["-c", "1", "/proc/self/exe".resolvingSymlink, "http", "--load", "\(port)", "\(seconds)", "\(connections)"]
                return runPinned(arguments).map(BuiltInLoad.parse)
            }
            return runPinned(["-c", "1", wrk, "-t1", "-c\(connections)", "-d\(seconds)s"] + (measure ? ["--latency"] : [])
                + ["-s", script, url]).map(parseWrk)
        }
        // Warm up (connections, caches, page faults) before measuring.
        _ = generate(2, measure: false)
        let before = cpuTicks(pid)
        guard var result = generate(duration, measure: true) else { return nil }
        let after = cpuTicks(pid)
        let ticks = Double(after - before)
        let microsPerTick = 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
        result.cpuMicrosPerRequest = result.requests > 0 ? ticks * microsPerTick / Double(result.requests) : 0
        return result
    }

    /// Runs `taskset ARGUMENTS` and returns its standard output.
    static func runPinned(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            say("bench http: cannot run the load generator: \(error)")
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func parseWrk(_ text: String) -> Result {
        var result = Result()
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), fields.count >= 2 {
                result.requestsPerSecond = Double(fields[1]) ?? 0
            } else if line.hasPrefix("50%"), fields.count >= 2 {
                result.p50ms = milliseconds(String(fields[1]))
            } else if line.hasPrefix("99%"), fields.count >= 2 {
                result.p99ms = milliseconds(String(fields[1]))
            } else if line.contains(" requests in "), let first = fields.first {
                result.requests = Int(first) ?? 0
            } else if line.hasPrefix("Non-2xx or 3xx responses:"), let last = fields.last {
                result.errors = Int(last) ?? 0
            }
        }
        return result
    }

    static func milliseconds(_ text: String) -> Double {
        for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? 0) * factor
        }
        return Double(text) ?? 0
    }

    /// utime + stime of a process, in clock ticks (all its threads).
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based), so 11 and 12 here.
        guard fields.count > 12 else { return 0 }
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    static func freePort() -> UInt16 {
        guard let (fd, port) = try? Loopback.listen() else { return 0 }
        close(fd)
        return port
    }

    static func waitForPort(_ port: UInt16) -> Bool {
        for _ in 0..<200 {
            if let fd = try? Loopback.connect(port: port) {
                close(fd)
                return true
            }
            usleep(25_000)
        }
        return false
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func say(_ text: String, fd: Int32 = 1) {
        let line = text + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

private extension String {
    var resolvingSymlink: String { (try? FileManager.default.destinationOfSymbolicLink(atPath: self)) ?? self }
}

/// The load generator used when wrk is not installed: threads with blocking keep-alive
/// connections, each thread sending one POST on each of its connections, then reading the
/// answers (so every connection has one request in flight, like wrk).
enum BuiltInLoad {
    final class Totals: @unchecked Sendable {
        let lock = NSLock()
        var requests = 0
        var errors = 0
        var latencies: [UInt64] = []
    }

    /// Child mode: `--load PORT SECONDS CONNECTIONS`; prints one summary line.
    static func run(_ arguments: [String]) -> Int32 {
        guard arguments.count == 3, let port = UInt16(arguments[0]), let seconds = Int(arguments[1]),
              let connections = Int(arguments[2]), connections > 0 else {
            HTTPBench.say("usage: clickpath-bench http --load PORT SECONDS CONNECTIONS")
            return 2
        }
        let request = Array(("POST /v1/beacons HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(HTTPBench.body.utf8.count)\r\n\r\n" + HTTPBench.body).utf8)
        let threads = min(4, connections)
        let totals = Totals()
        let deadline = Syscalls.monotonicNanoseconds() + UInt64(seconds) * 1_000_000_000
        let start = Syscalls.monotonicNanoseconds()
        let group = DispatchGroup()
        for t in 0..<threads {
            let mine = connections / threads + (t < connections % threads ? 1 : 0)
            group.enter()
            Thread {
                worker(port: port, connections: mine, request: request, deadline: deadline, totals: totals)
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Double(Syscalls.monotonicNanoseconds() - start) / 1e9
        var latencies = totals.latencies
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        HTTPBench.say("LOAD requests=\(totals.requests) errors=\(totals.errors) seconds=\(elapsed) p50us=\(percentile(0.5)) p99us=\(percentile(0.99))")
        return 0
    }

    static func worker(port: UInt16, connections: Int, request: [UInt8], deadline: UInt64, totals: Totals) {
        var sockets: [Int32] = []
        for _ in 0..<connections {
            if let fd = try? Loopback.connect(port: port) { sockets.append(fd) }
        }
        defer { for fd in sockets { close(fd) } }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var requests = 0, errors = 0
        var latencies: [UInt64] = []
        latencies.reserveCapacity(1 << 20)
        var sentAt = [UInt64](repeating: 0, count: sockets.count)
        while Syscalls.monotonicNanoseconds() < deadline && !sockets.isEmpty {
            for (i, fd) in sockets.enumerated() {
                sentAt[i] = Syscalls.monotonicNanoseconds()
                _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            for (i, fd) in sockets.enumerated() {
                guard let status = readResponse(fd, &buffer) else { return }
                latencies.append(Syscalls.monotonicNanoseconds() - sentAt[i])
                requests += 1
                if status < 200 || status >= 400 { errors += 1 }
            }
        }
        totals.lock.lock()
        totals.requests += requests
        totals.errors += errors
        totals.latencies += latencies
        totals.lock.unlock()
    }

    /// Reads one answer (head, then Content-Length bytes of body); returns its status.
    static func readResponse(_ fd: Int32, _ buffer: inout [UInt8]) -> Int? {
        var have = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + have, $0.count - have, 0) }
            if n <= 0 { return nil }
            have += n
            guard let end = findHeadEnd(buffer, have) else {
                if have == buffer.count { return nil }
                continue
            }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            var remaining = end + 4 + length - have
            while remaining > 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, min($0.count, remaining), 0) }
                if n <= 0 { return nil }
                remaining -= n
            }
            return status
        }
    }

    static func findHeadEnd(_ buffer: [UInt8], _ count: Int) -> Int? {
        guard count >= 4 else { return nil }
        for i in 0...(count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    static func parse(_ output: String) -> HTTPBench.Result {
        var result = HTTPBench.Result()
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("LOAD ") }) else { return result }
        var fields: [String: Double] = [:]
        for pair in line.dropFirst(5).split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2 { fields[String(parts[0])] = Double(parts[1]) }
        }
        result.requests = Int(fields["requests"] ?? 0)
        result.errors = Int(fields["errors"] ?? 0)
        result.requestsPerSecond = Double(result.requests) / max(fields["seconds"] ?? 1, 0.001)
        result.p50ms = (fields["p50us"] ?? 0) / 1000
        result.p99ms = (fields["p99us"] ?? 0) / 1000
        return result
    }
}
