import Model
import TestSupport
import System
import Testing
import Foundation
import Beacon
import Config
import Transport
import Wire
@testable import CollectorCore
import Workloads

/// The beacon route on a real HTTP server (port 0) with a counting sink for the pipeline.
@Suite(.serialized) struct IngressRouteTests {
    static let apps = try! AppConfig.parse(Array(#"""
    {"apps":{
      "shop":{"platform":"web","allowedOrigins":["https://shop.example.com"]},
      "keyed":{"platform":"web","ingestKey":"k-secret-1","allowedOrigins":[]},
      "slow":{"platform":"web","rateLimit":{"beaconsPerSecond":1,"burst":1},"allowedOrigins":["https://slow.example.com"]},
      "phone":{"platform":"mobile","allowedOrigins":[]}
    }}
    """#.utf8))
    static let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    static let now: Int64 = 1_700_000_006_000

    final class Harness {
        let sink = CountingSink()
        let route: IngressRoute
        let server: HTTPServer

        init(maxWireBytes: Int = 1 << 20) throws {
            route = IngressRoute(apps: { IngressRouteTests.apps }, pipeline: sink,
                                 ingest: BeaconAdmission(maxWireBytes: maxWireBytes),
                                 clock: DaemonClock(monotonicNanoseconds: { 0 }, wallMilliseconds: { IngressRouteTests.now }))
            var router = HTTPRouter()
            route.register(in: &router)
            server = try HTTPServer.start(HTTPServerConfiguration(), router: router)
        }

        deinit { server.stop() }

        func post(_ path: String = "/v1/beacons", body: [UInt8], headers: [String: String] = [:]) throws -> TestResponse {
            var head = "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.count)\r\n"
            var all = ["Content-Type": "text/plain;charset=UTF-8", "User-Agent": IngressRouteTests.browser]
            all.merge(headers) { $1 }
            for (name, value) in all.sorted(by: { $0.key < $1.key }) where !value.isEmpty { head += "\(name): \(value)\r\n" }
            let client = try TestClient(port: server.port)
            client.send(Array((head + "\r\n").utf8) + body)
            return try client.readResponse()
        }
    }

    static func beacon(app: String = "shop", platform: String = "web", events: Int = 3, sentAt: Int64 = 1_700_000_005_000) -> [UInt8] {
        let list = (0..<events).map { #"{"id":"e\#($0)","type":"view","ts":\#(sentAt),"url":"/p?token=t\#($0)"}"# }
        return Array(#"{"app":"\#(app)","platform":"\#(platform)","visitor":"v1","sentAt":\#(sentAt),"events":[\#(list.joined(separator: ","))]}"#.utf8)
    }

    @Test func acceptedBeaconsReachThePipeline() throws {
        let harness = try Harness()
        let response = try harness.post(body: Self.beacon(events: 3))
        #expect(response.status == 202)
        #expect(response.text == #"{"accepted":3,"rejected":0,"errors":[]}"#)
        #expect(response.header("Content-Type") == "application/json")
        #expect(harness.sink.beacons == 1 && harness.sink.events == 3)
    }

    @Test func gzipBodyWithKeyInTheQuery() throws {
        let harness = try Harness()
        let gzip = [UInt8](try #require(Data(base64Encoded: Self.keyedGzipBase64)))
        #expect(try harness.post(body: gzip, headers: ["Content-Encoding": "gzip"]).status == 403)
        let response = try harness.post("/v1/beacons?key=k-secret-1", body: gzip, headers: ["Content-Encoding": "gzip"])
        #expect(response.status == 202, "\(response.text)")
        #expect(try harness.post(body: Self.beacon(app: "keyed"), headers: ["X-Clickpath-Key": "k-secret-1"]).status == 202)
        #expect(harness.sink.events == 6)
    }

    @Test func refusalsAreJSONWithTheirStatus() throws {
        let harness = try Harness(maxWireBytes: 4096)
        let cases: [(body: [UInt8], headers: [String: String], status: Int, part: String)] = [
            (Array(#"{"app":"shop",}"#.utf8), [:], 400, "invalid JSON at byte 14"),
            (Self.beacon(), ["Content-Type": "application/xml"], 415, "unsupported Content-Type"),
            (Self.beacon(), ["Content-Encoding": "br"], 415, "unsupported Content-Encoding"),
            (Self.beacon(app: "nope"), [:], 403, "unknown app"),
            (Self.beacon(), ["Origin": "https://evil.test"], 403, "allowedOrigins"),
            (Self.beacon(), ["Content-Encoding": "gzip"], 400, "compressed body is corrupt"),
        ]
        for (body, headers, status, part) in cases {
            let response = try harness.post(body: body, headers: headers)
            #expect(response.status == status, "\(part): \(response.text)")
            #expect(response.text.contains(part), "\(response.text)")
            #expect(response.text.hasPrefix("{\"error\":"))
        }
        // Over the wire limit: the HTTP layer refuses before reading the body, with the same
        // JSON shape as every other refusal.
        let big = try harness.post(body: Self.beacon(events: 100))
        #expect(big.status == 413)
        #expect(big.text.hasPrefix("{\"error\":") && big.text.contains(#""status":413}"#), "\(big.text)")
        #expect(harness.sink.beacons == 0)
    }

    /// The same visitor's beacons naming other platforms than apps.json's: refused whatever the
    /// order, so the sessions cannot depend on which came first.
    @Test func aBeaconWhosePlatformDisagreesWithAppsJSONIs400() throws {
        let harness = try Harness()
        let wrong = try harness.post(body: Self.beacon(app: "shop", platform: "mobile"))
        #expect(wrong.status == 400)
        #expect(wrong.text.contains(#"beacon platform \"mobile\" does not match the platform \"web\" apps.json gives app \"shop\""#),
                "\(wrong.text)")
        #expect(try harness.post(body: Self.beacon(app: "phone", platform: "web")).status == 400)
        #expect(try harness.post(body: Self.beacon(app: "phone", platform: "mobile"), headers: ["User-Agent": "okhttp/4.12.0"]).status == 202)
        #expect(harness.sink.beacons == 1)
    }

    @Test func skewCorrectionIsInThe202() throws {
        let harness = try Harness()
        // The client's clock is 2 h ahead of the collector's.
        let response = try harness.post(body: Self.beacon(sentAt: Self.now + 7_200_000))
        #expect(response.status == 202)
        #expect(response.text == #"{"accepted":3,"rejected":0,"errors":[],"skewCorrectedMs":-7200000}"#)
    }

    /// Credentialed CORS (sendBeacon always sends credentials): the preflight and every answer
    /// echo the origin with `Access-Control-Allow-Credentials: true`. Answers given before the app
    /// is known (415, 400, 403 unknown app, and the HTTP layer's 413) carry the headers of an
    /// origin some app allows, none for an origin no app allows.
    @Test func credentialedCORSOnEveryAnswer() throws {
        let harness = try Harness(maxWireBytes: 4096)
        let origin = "https://shop.example.com"
        let client = try TestClient(port: harness.server.port)
        client.send("OPTIONS /v1/beacons HTTP/1.1\r\nHost: t\r\nOrigin: \(origin)\r\n"
                    + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
        let preflight = try client.readResponse()
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == origin)
        #expect(preflight.header("Access-Control-Allow-Credentials") == "true")
        let cases: [(label: String, body: [UInt8], headers: [String: String], status: Int)] = [
            ("accepted", Self.beacon(), ["Content-Type": "application/json"], 202),
            ("415", Self.beacon(), ["Content-Type": "application/xml"], 415),
            ("400", Array(#"{"app":"shop",}"#.utf8), [:], 400),
            ("403 unknown app", Self.beacon(app: "nope"), [:], 403),
            ("413 from the HTTP layer", Self.beacon(events: 100), [:], 413),
            ("400 wrong platform", Self.beacon(platform: "custom"), [:], 400),
        ]
        for (label, body, headers, status) in cases {
            let response = try harness.post(body: body, headers: headers.merging(["Origin": origin]) { $1 })
            #expect(response.status == status, "\(label): \(response.text)")
            #expect(response.header("Access-Control-Allow-Origin") == origin, "\(label)")
            #expect(response.header("Access-Control-Allow-Credentials") == "true", "\(label)")
            #expect(response.header("Vary") == "Origin", "\(label)")
            if status != 202 { #expect(response.text.contains(#""status":\#(status)"#), "\(label): \(response.text)") }
        }
        // slow's own origin on a beacon of another app: the app is known, its list decides.
        let refused = try harness.post(body: Self.beacon(), headers: ["Origin": "https://slow.example.com"])
        #expect(refused.status == 403 && refused.header("Access-Control-Allow-Origin") == nil)
        // An origin no app allows gets no CORS headers, whatever the answer.
        for body in [Self.beacon(app: "nope"), Self.beacon(events: 100), Array("{".utf8)] {
            let response = try harness.post(body: body, headers: ["Origin": "https://evil.test"])
            #expect([400, 403, 413].contains(response.status))
            #expect(response.header("Access-Control-Allow-Origin") == nil && response.header("Access-Control-Allow-Credentials") == nil)
        }
    }

    @Test func rateLimitAnswers429WithRetryAfter() throws {
        let harness = try Harness()
        #expect(try harness.post(body: Self.beacon(app: "slow")).status == 202)
        let limited = try harness.post(body: Self.beacon(app: "slow"))
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "1")
    }

    @Test func botsGet202AndAreCounted() throws {
        let harness = try Harness()
        let response = try harness.post(body: Self.beacon(), headers: ["User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"])
        #expect(response.status == 202)
        #expect(response.text == #"{"accepted":0,"rejected":0,"errors":[],"dropped":{"bot":3}}"#)
        #expect(harness.sink.beacons == 0)
        let drops = harness.route.botDrops
        #expect(drops.first { $0.family.name == "search-engine" }?.dropped == 1)
        #expect(drops.filter { $0.family.name != "search-engine" }.allSatisfy { $0.dropped == 0 })
    }

    @Test func corsPreflightAndHeaders() throws {
        let harness = try Harness()
        let client = try TestClient(port: harness.server.port)
        client.send("OPTIONS /v1/beacons?app=shop HTTP/1.1\r\nHost: t\r\nOrigin: https://shop.example.com\r\n"
                    + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
        let preflight = try client.readResponse()
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "https://shop.example.com")
        #expect(preflight.header("Access-Control-Allow-Methods") == "POST")
        client.send("OPTIONS /v1/beacons?app=shop HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.test\r\n"
                    + "Access-Control-Request-Method: POST\r\n\r\n")
        #expect(try client.readResponse().status == 403)
        let allowed = try harness.post(body: Self.beacon(), headers: ["Origin": "https://shop.example.com"])
        #expect(allowed.status == 202)
        #expect(allowed.header("Access-Control-Allow-Origin") == "https://shop.example.com")
        #expect(allowed.header("Access-Control-Allow-Credentials") == "true")
        #expect(allowed.header("Vary") == "Origin")
    }

    @Test func pipelineAnswersBecomeHTTP() throws {
        struct Refusing: BeaconSink {
            let result: SinkResult
            func submit(_ beacon: Beacon, completion: @escaping @Sendable (SinkResult) -> Void) { completion(result) }
        }
        for (result, status) in [(SinkResult.unavailable(retryAfterSeconds: 7, reason: "spool full"), 503),
                                 (.rejected(reason: "cannot be framed"), 500)] {
            let route = IngressRoute(apps: { Self.apps }, pipeline: Refusing(result: result),
                                     clock: DaemonClock(monotonicNanoseconds: { 0 }, wallMilliseconds: { Self.now }))
            var router = HTTPRouter()
            route.register(in: &router)
            let server = try HTTPServer.start(HTTPServerConfiguration(), router: router)
            defer { server.stop() }
            let client = try TestClient(port: server.port)
            let body = Self.beacon()
            client.send(Array("POST /v1/beacons HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nUser-Agent: \(Self.browser)\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            let response = try client.readResponse()
            #expect(response.status == status)
            if status == 503 { #expect(response.header("Retry-After") == "7") }
        }
    }

    /// `beacon(app: "keyed")` gzipped (Python's gzip, mtime 0).
    static let keyedGzipBase64 = "H4sIAAAAAAACA52MTQrCMBCF7/LWAZOCCAERzyEuWjpCaG2GZEwpJXd3igiCuw7M4v19K1pmeAy0UA8DHlt5xPRUa6ZOjRJykJhUF6cy0yRXgXcn+7mjvgEV9TP8bUXotUtWu7IwbbtA86by3+qVRs0PfJE40HQWi2q+ALcH4H4AzR5Ag3qvbxF8XrEUAQAA"
}
