// `clickpath-bench ingress` HTTP part: nginx (`return 204`, one worker) against the collector's
// beacon route (CollectorCore.IngressRoute on one loop; the pipeline replaced by a CountingSink),
// the same wrk pinned to core 1, servers on core 0, the same beacon.
#if canImport(Glibc)
import Glibc
#endif
import Model
import Foundation
import Beacon
import CollectorCore
import Config
import Transport
import Workloads

extension IngressBench {
    static let browserUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    /// Child mode: the beacon route of the collector (BeaconAdmission on Transport's HTTP server, one
    /// loop) with a counting sink instead of the pipeline. Prints the port; at end of stdin prints
    /// how many beacons and events the sink counted.
    static func serve() -> Int32 {
        let sink = CountingSink()
        let apps = AppConfig(apps: [AppSettings(id: "shop", platform: .web, rateLimit: nil)])
        let route = IngressRoute(apps: { apps }, pipeline: sink)
        var router = HTTPRouter()
        route.register(in: &router)
        var configuration = HTTPServerConfiguration()
        configuration.loopCount = 1
        let server: HTTPServer
        do { server = try HTTPServer.start(configuration, router: router) } catch {
            HTTPBench.say("bench ingress: cannot start the collector route: \(error)")
            return 1
        }
        HTTPBench.say("listening http=\(server.port)")
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        server.stop()
        HTTPBench.say("counted beacons=\(sink.beacons) events=\(sink.events)")
        return 0
    }

    static func runHTTP(duration: Int, connections: Int, rounds: Int) -> Int32 {
        guard let wrk = HTTPBench.which("wrk") else {
            HTTPBench.say("bench ingress: wrk is not installed; install it with: apt-get install -y wrk")
            return 1
        }
        guard let nginx = HTTPBench.which("nginx") ?? (FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") ? "/usr/sbin/nginx" : nil) else {
            HTTPBench.say("bench ingress: nginx is not installed; install it with: apt-get install -y nginx")
            return 1
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("clickpath-bench-ingress-\(getpid())")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let compact = String(decoding: body.filter { $0 != 0x0A }, as: UTF8.self)
        // A Lua single-quoted string: escape backslashes (JSON escapes stay JSON escapes) and quotes.
        let luaBody = compact.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let script = work.appendingPathComponent("beacon.lua").path
        try? """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
        wrk.headers["User-Agent"] = "\(browserUserAgent)"
        wrk.body = '\(luaBody)'
        """.write(toFile: script, atomically: true, encoding: .utf8)

        HTTPBench.say("bench ingress: \(compact.utf8.count)-byte beacon with 10 events, wrk -t1 -c\(connections) -d\(duration)s on core 1, "
            + "servers on core 0, \(rounds) alternating rounds; collector = beacon route on one loop, pipeline replaced by a COUNTING SINK")
        guard let nginxServer = HTTPBench.startNginx(nginx: nginx, work: work) else { return 1 }
        defer { nginxServer.stop() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", "0", ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]), "ingress", "--serve"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch {
            HTTPBench.say("bench ingress: cannot start the collector route: \(error)")
            return 1
        }
        let handle = output.fileHandleForReading
        func readLine() -> String {
            var line = ""
            while !line.hasSuffix("\n") {
                let data = handle.readData(ofLength: 1)
                if data.isEmpty { break }
                line += String(decoding: data, as: UTF8.self)
            }
            return line.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let first = readLine()
        guard first.hasPrefix("listening http="), let port = UInt16(first.dropFirst(15)) else {
            HTTPBench.say("bench ingress: the collector route did not start: \(first)")
            process.terminate()
            return 1
        }

        var nginxRounds: [HTTPBench.Result] = [], ourRounds: [HTTPBench.Result] = []
        for round in 1...rounds {
            for name in ["nginx", "collector"] {
                let pid = name == "nginx" ? nginxServer.process.processIdentifier : process.processIdentifier
                let serverPort = name == "nginx" ? nginxServer.port : port
                guard let result = HTTPBench.load(pid: pid, port: serverPort, wrk: wrk, script: script,
                                                  connections: connections, duration: duration) else { return 1 }
                HTTPBench.say(String(format: "  round %d %-9@ %9.0f req/s  p50 %.3f ms  p99 %.3f ms  %.1f µs CPU/req  non-2xx %d",
                                     round, name, result.requestsPerSecond, result.p50ms, result.p99ms,
                                     result.cpuMicrosPerRequest, result.errors))
                if name == "nginx" { nginxRounds.append(result) } else { ourRounds.append(result) }
            }
        }
        try? input.fileHandleForWriting.close()
        let counted = readLine()
        process.waitUntilExit()

        let nginxResult = HTTPBench.summary(nginxRounds), ours = HTTPBench.summary(ourRounds)
        // Events per accepted beacon as the sink counted them (all 10 unless some were rejected).
        let numbers = counted.split(whereSeparator: { !$0.isNumber }).compactMap { Double($0) }
        let eventsPerBeacon = numbers.count == 2 && numbers[0] > 0 ? numbers[1] / numbers[0] : 0
        for (name, r, events) in [("nginx (returns 204, parses nothing)", nginxResult, "-"),
                                  ("collector (pipeline = counting sink)", ours,
                                   String(format: "%.0f", ours.requestsPerSecond * eventsPerBeacon))] {
            HTTPBench.say(String(format: "%@: %.0f req/s, %@ events/s, p50 %.3f ms, p99 %.3f ms, %.1f µs CPU/req",
                                 name, r.requestsPerSecond, events, r.p50ms, r.p99ms, r.cpuMicrosPerRequest))
        }
        HTTPBench.say("collector sink \(counted)")
        HTTPBench.say(String(format: "ingress cpu ratio %.2fx nginx (nginx CPU per request / ours)",
                             nginxResult.cpuMicrosPerRequest / max(ours.cpuMicrosPerRequest, 0.001)))
        HTTPBench.say(String(format: "ingress ratio %.2fx nginx", ours.requestsPerSecond / max(nginxResult.requestsPerSecond, 1)))
        return 0
    }
}
