#if canImport(Glibc)
import Glibc
#endif
import Model
import Foundation
import Beacon
import Wire
import JSON
import Workloads

/// `clickpath-bench ingress`: the beacon parser against Foundation's JSONDecoder on the same
/// ~1.2 KB beacon with 10 events, in the same run.
enum IngressBench {
    static let body = Array(SampleBeacon.realistic.utf8)

    // Codable mirror of the contract, the way one would write it with Foundation.
    struct CodableBeacon: Decodable {
        var app: String
        var platform: String
        var visitor: String
        var session: String?
        var user: String?
        var device: CodableDevice?
        var sentAt: Int64
        var events: [CodableEvent]
    }
    struct CodableDevice: Decodable {
        var browser, browserVersion, os, osVersion, deviceType, screen, appVersion: String?
    }
    enum CodableProp: Decodable {
        case string(String), number(Double), bool(Bool)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else { self = .string(try container.decode(String.self)) }
        }
    }
    struct CodableEvent: Decodable {
        var id: String
        var type: String
        var ts: Int64
        var duration: Int64?
        var name, url, parent, method, message, stack: String?
        var status: Int32?
        var fatal: Bool?
        var timing: [String: Double]?
        var props: [String: CodableProp]?
    }

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.first == "--serve" { return serve() }
        var iterations = 200_000, duration = 5, connections = 50, rounds = 3
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? Int(arguments[index + 1]) : nil
            switch arguments[index] {
            case "--iterations": iterations = max(1, value ?? iterations); index += 1
            case "--duration": duration = max(1, value ?? duration); index += 1
            case "--connections": connections = max(1, value ?? connections); index += 1
            case "--rounds": rounds = max(1, value ?? rounds); index += 1
            case "--parser-only": break
            default:
                HTTPBench.say("usage: clickpath-bench ingress [--iterations N] [--parser-only] [--duration S] [--connections N] [--rounds N]")
                return 2
            }
            index += 1
        }
        let parserOnly = arguments.contains("--parser-only")
        let parser = BeaconParser()
        let decoder = JSONDecoder()
        let data = Data(body)

        // Same answer from both before timing anything.
        guard let ours = try? parser.parse(body, receivedAt: 0),
              let theirs = try? decoder.decode(CodableBeacon.self, from: data),
              ours.envelope.events.count == theirs.events.count, ours.envelope.visitor == theirs.visitor else {
            HTTPBench.say("bench ingress: the two parsers disagree on the sample beacon")
            return 1
        }

        var sink = 0
        let oursSeconds = measure {
            for _ in 0..<iterations {
                if let parsed = try? parser.parse(body, receivedAt: 0) { sink &+= parsed.envelope.events.count }
            }
        }
        let decoderIterations = parserOnly ? 1 : max(1, iterations / 20)
        let theirsSeconds = measure {
            for _ in 0..<decoderIterations {
                if let parsed = try? decoder.decode(CodableBeacon.self, from: data) { sink &+= parsed.events.count }
            }
        }
        // Floor: validating the same bytes with JSONReader without building anything.
        let scanSeconds = measure {
            body.withUnsafeBytes { raw in
                for _ in 0..<iterations {
                    var reader = JSONReader(raw, maxDepth: BeaconParser.maxDepth)
                    if (try? reader.skipValue()) != nil { sink &+= reader.offset }
                }
            }
        }
        let scanPerSecond = Double(iterations) / scanSeconds
        // The whole admission without HTTP: parse, app, bots, rate limit, decisions, privacy, answer.
        var ingest = BeaconAdmission()
        let app = AdmittedApp()
        let userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
        let ingestSeconds = measure {
            body.withUnsafeBytes { raw in
                for _ in 0..<iterations {
                    let response = ingest.handle(
                        BeaconRequest(body: raw, contentType: "application/json", userAgent: userAgent,
                                      peer: .v4(0xCB00_714D), receivedAt: 1_700_000_006_000, monotonicNow: 0),
                        lookup: { _ in app })
                    sink &+= response.beacon?.events.count ?? 0
                }
            }
        }
        let ingestPerSecond = Double(iterations) / ingestSeconds
        // The bot list alone, on the same browser User-Agent (it is read to the end: no match).
        var agent = userAgent
        let botSeconds = agent.withUTF8 { bytes in
            measure {
                for _ in 0..<iterations where BotMatcher.builtIn.match(bytes, platform: .web) != nil { sink &+= 1 }
            }
        }
        let oursPerSecond = Double(iterations) / oursSeconds
        let theirsPerSecond = Double(decoderIterations) / theirsSeconds
        HTTPBench.say("beacon: \(body.count) bytes, 10 events")
        HTTPBench.say(String(format: "parser BeaconParser   %10.0f beacons/s  %7.2f µs CPU/beacon  %6.0f MB/s",
                     oursPerSecond, 1e6 / oursPerSecond, oursPerSecond * Double(body.count) / 1e6))
        HTTPBench.say(String(format: "parser JSONDecoder    %10.0f beacons/s  %7.2f µs CPU/beacon  %6.0f MB/s",
                     theirsPerSecond, 1e6 / theirsPerSecond, theirsPerSecond * Double(body.count) / 1e6))
        HTTPBench.say(String(format: "ingest BeaconAdmission    %10.0f beacons/s  %7.2f µs CPU/beacon  (parse, bots, decisions, privacy, answer; no HTTP)",
                     ingestPerSecond, 1e6 / ingestPerSecond))
        HTTPBench.say(String(format: "bots   BotMatcher.match %10.0f UAs/s      %7.3f µs CPU/UA      (%d-byte browser User-Agent, %d patterns)",
                     Double(iterations) / botSeconds, 1e6 * botSeconds / Double(iterations), userAgent.utf8.count,
                     BotMatcher.builtIn.patterns.count))
        HTTPBench.say(String(format: "scan   JSONReader.skip %10.0f beacons/s  %7.2f µs CPU/beacon  %6.0f MB/s (validation only, no model)",
                     scanPerSecond, 1e6 / scanPerSecond, scanPerSecond * Double(body.count) / 1e6))
        HTTPBench.say(String(format: "parser ratio %.1fx JSONDecoder", oursPerSecond / theirsPerSecond))
        if sink == 42 { print("") }   // keeps the loops from being optimised away
        return parserOnly ? 0 : runHTTP(duration: duration, connections: connections, rounds: rounds)
    }

    /// This thread's CPU seconds, best of 3 runs: on a shared 2-core machine wall time and the
    /// slowest runs measure the neighbours.
    static func measure(_ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = threadCPUSeconds()
            body()
            best = min(best, threadCPUSeconds() - start)
        }
        return best
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
