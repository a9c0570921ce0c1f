import Model
import System
import Testing
import Wire
import Config
import JSON
@testable import Beacon
import Workloads

@Suite struct BeaconAdmissionTests {
    static let now: Int64 = 1_700_000_006_000
    static let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    static let apps: [String: AdmittedApp] = [
        "shop": AdmittedApp(allowedOrigins: ["https://shop.example.com"]),
        "keyed": AdmittedApp(ingestKey: "s3cret"),
        "limited": AdmittedApp(rateLimit: .init(ratePerSecond: 1, burst: 2)),
    ]

    struct Call {
        var body: [UInt8] = Array(SampleBeacon.realistic.utf8)
        var contentType: String? = "text/plain;charset=UTF-8"
        var contentEncoding: String?
        var origin: String?
        var key: String?
        var userAgent: String? = BeaconAdmissionTests.browser
        var peer = IPAddress("203.0.113.77")!
        var forwardedFor: [Substring] = []
        var monotonic: Int64 = 0
    }

    /// `anyAppAllows`: the origins some app of apps.json allows (for answers before the app is known).
    func run(_ call: Call, ingest: inout BeaconAdmission, apps: [String: AdmittedApp] = BeaconAdmissionTests.apps,
             anyAppAllows: [String] = []) -> BeaconResponse {
        call.body.withUnsafeBytes { raw in
            ingest.handle(BeaconRequest(body: raw, contentType: call.contentType, contentEncoding: call.contentEncoding,
                                        origin: call.origin, key: call.key, userAgent: call.userAgent, peer: call.peer,
                                        forwardedFor: call.forwardedFor, receivedAt: Self.now, monotonicNow: call.monotonic),
                          lookup: { apps[$0] }, anyAppAllows: { anyAppAllows.contains($0) })
        }
    }

    func run(_ call: Call) -> BeaconResponse {
        var ingest = BeaconAdmission()
        return run(call, ingest: &ingest)
    }

    func body(_ response: BeaconResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static func beacon(app: String, platform: String = "web") -> [UInt8] {
        Array(#"{"app":"\#(app)","platform":"\#(platform)","visitor":"v","sentAt":1700000005000,"events":[{"id":"a","type":"view","ts":1700000005000,"url":"/p?email=a@b.c"}]}"#.utf8)
    }

    @Test func acceptsTheRealisticBeacon() throws {
        let response = run(Call())
        #expect(response.status == 202)
        #expect(body(response) == #"{"accepted":10,"rejected":0,"errors":[]}"#)
        let beacon = try #require(response.beacon)
        #expect(beacon.events.count == 10)
        #expect(beacon.clientAddress == "203.0.113.0")
        #expect(beacon.userAgent == Self.browser)
        #expect(beacon.receivedAt == Self.now)
        #expect(beacon.events[0].url == "https://shop.example.com/cart?token=REDACTED&lang=en")
        #expect(response.headers.isEmpty)   // no Origin: not a CORS request
    }

    @Test(arguments: [(Compression.Format.gzip, "gzip"), (.zlib, "deflate"), (.raw, "deflate")])
    func compressedBodies(format: Compression.Format, encoding: String) {
        var call = Call()
        call.body = Compression.compress(call.body, format: format)
        call.contentEncoding = encoding
        #expect(run(call).status == 202)
        #expect(run(call).beacon?.events.count == 10)
    }

    @Test func zipBombIs413() {
        var call = Call()
        call.body = Compression.zeroBomb(totalBytes: 64 << 20, format: .gzip)
        call.contentEncoding = "gzip"
        let response = run(call)
        #expect(response.status == 413)
        #expect(body(response).contains("inflates more than 100 times"))
    }

    @Test func wireLimitIs413() {
        var ingest = BeaconAdmission(maxWireBytes: 100)
        let response = run(Call(), ingest: &ingest)
        #expect(response.status == 413)
        #expect(body(response) == #"{"error":"body exceeds the limit of 100 bytes","status":413}"#)
    }

    @Test(arguments: [
        ("application/json", 202), ("text/plain", 202), ("Application/JSON; charset=utf-8", 202),
        ("text/plain;charset=\"UTF-8\"", 202), ("text/plain; charset=iso-8859-1", 415),
        ("application/x-www-form-urlencoded", 415), ("multipart/form-data; boundary=x", 415),
    ])
    func contentTypes(value: String, status: Int) {
        var call = Call()
        call.contentType = value
        #expect(run(call).status == status)
    }

    @Test func missingContentTypeIs415() {
        var call = Call()
        call.contentType = nil
        let response = run(call)
        #expect(response.status == 415)
        #expect(body(response).contains("application/json or text/plain"))
    }

    @Test func unknownContentEncodingIs415() {
        var call = Call()
        call.contentEncoding = "br"
        #expect(run(call).status == 415)
    }

    @Test func corruptGzipIs400() {
        var call = Call()
        call.contentEncoding = "gzip"
        let response = run(call)
        #expect(response.status == 400)
        #expect(body(response).contains("compressed body is corrupt"))
    }

    @Test func malformedJSONIs400WithTheOffset() {
        var call = Call()
        call.body = Array(#"{"app":"shop",}"#.utf8)
        let response = run(call)
        #expect(response.status == 400)
        #expect(body(response) == #"{"error":"invalid JSON at byte 14: expected a key after ',' (no trailing commas), found '}'","status":400}"#)
    }

    @Test func unknownAppIs403() {
        var call = Call()
        call.body = Self.beacon(app: "nope")
        let response = run(call)
        #expect(response.status == 403)
        #expect(body(response).contains("unknown app \\\"nope\\\""))
    }

    @Test func starEntryAdmitsAnyApp() {
        var call = Call()
        call.body = Self.beacon(app: "anything")
        var ingest = BeaconAdmission()
        let star = AdmittedApp()
        let response = call.body.withUnsafeBytes { raw in
            ingest.handle(BeaconRequest(body: raw, contentType: "application/json", userAgent: Self.browser,
                                        peer: call.peer, receivedAt: Self.now, monotonicNow: 0),
                          lookup: { Self.apps[$0] ?? star })
        }
        #expect(response.status == 202)
    }

    @Test func ingestKey() {
        var call = Call()
        call.body = Self.beacon(app: "keyed")
        #expect(run(call).status == 403)
        #expect(body(run(call)).contains("needs its ingest key"))
        call.key = "s3cre"
        #expect(run(call).status == 403)
        #expect(body(run(call)).contains("wrong ingest key"))
        call.key = "s3cret"
        #expect(run(call).status == 202)
    }

    @Test func corsAllowedAndRefused() {
        var call = Call()
        call.origin = "https://shop.example.com"
        let allowed = run(call)
        #expect(allowed.status == 202)
        #expect(allowed.headers.contains(.init("Access-Control-Allow-Origin", "https://shop.example.com")))
        call.origin = "https://evil.test"
        let refused = run(call)
        #expect(refused.status == 403)
        #expect(body(refused).contains("not in the app's allowedOrigins"))
    }

    /// BRIEF: the app's platform comes from apps.json, so sessions never depend on which beacon
    /// of a visitor came first; a beacon naming another platform is refused, naming both.
    @Test(arguments: ["mobile", "miniprogram", "custom"])
    func aPlatformOtherThanTheAppsIs400(platform: String) throws {
        var call = Call()
        call.body = Self.beacon(app: "shop", platform: platform)
        call.origin = "https://shop.example.com"
        let response = run(call)
        #expect(response.status == 400)
        #expect(body(response) == #"{"error":"beacon platform \"\#(platform)\" does not match the platform \"web\" apps.json gives app \"shop\"","status":400}"#)
        #expect(response.beacon == nil)
        #expect(response.headers.contains(.init("Access-Control-Allow-Origin", "https://shop.example.com")),
                "the page can read why")
        var ingest = BeaconAdmission()
        let phone = AdmittedApp(platform: .mobile)
        call.userAgent = "okhttp/4.12.0"
        #expect(run(call, ingest: &ingest, apps: ["shop": phone]).status == (platform == "mobile" ? 202 : 400))
        call.body = Self.beacon(app: "shop", platform: "web")
        #expect(run(call, ingest: &ingest, apps: ["shop": phone]).status == 400)
    }

    /// Answers given before the app is known carry the CORS headers of the origin when some app
    /// allows it, none when no app does; the app's own list decides once it is known.
    @Test func answersBeforeTheAppIsKnownCarryTheOriginsCORSHeaders() {
        var calls: [(String, Call, Int)] = []
        var call = Call()
        call.contentType = "application/xml"
        calls.append(("415", call, 415))
        call = Call()
        call.body = Array(#"{"app":"shop",}"#.utf8)
        calls.append(("400", call, 400))
        call = Call()
        call.body = Array(repeating: UInt8(ascii: " "), count: 2 << 20)
        calls.append(("413", call, 413))
        call = Call()
        call.body = Self.beacon(app: "nope")
        calls.append(("403 unknown app", call, 403))
        for (label, base, status) in calls {
            var call = base
            call.origin = "https://other.example.net"
            var ingest = BeaconAdmission()
            let allowed = run(call, ingest: &ingest, anyAppAllows: ["https://other.example.net"])
            #expect(allowed.status == status, "\(label): \(body(allowed))")
            #expect(allowed.headers == CORSPolicy.answerHeaders(origin: "https://other.example.net"), "\(label)")
            #expect(body(allowed).contains(#""status":\#(status)"#), "\(label): \(body(allowed))")
            let unknown = run(call, ingest: &ingest, anyAppAllows: ["https://shop.example.com"])
            #expect(unknown.status == status && unknown.headers.isEmpty, "\(label): no app allows the origin")
        }
        // Known app, origin not in its list: refused without CORS headers whatever other apps allow.
        call = Call()
        call.origin = "https://other.example.net"
        var ingest = BeaconAdmission()
        let refused = run(call, ingest: &ingest, anyAppAllows: ["https://other.example.net"])
        #expect(refused.status == 403 && refused.headers.isEmpty)
    }

    @Test func answersAllowCredentialsForTheEchoedOrigin() {
        var call = Call()
        call.origin = "https://shop.example.com"
        let allowed = run(call)
        #expect(allowed.headers.contains(.init("Access-Control-Allow-Origin", "https://shop.example.com")))
        #expect(allowed.headers.contains(.init("Access-Control-Allow-Credentials", "true")))
        #expect(!allowed.headers.contains { $0.value == "*" })
    }

    /// A clock far off: every `ts` is moved, and the answer says by how much.
    @Test(arguments: [Int64(3_600_000), -7_200_000, 0])
    func skewCorrectionIsReported(clientAhead: Int64) {
        var call = Call()
        let sent = Self.now + clientAhead
        call.body = Array(#"{"app":"shop","platform":"web","visitor":"v","sentAt":\#(sent),"events":[{"id":"a","type":"view","ts":\#(sent - 1000)}]}"#.utf8)
        let response = run(call)
        #expect(response.status == 202)
        let expected = clientAhead == 0 ? #"{"accepted":1,"rejected":0,"errors":[]}"#
            : #"{"accepted":1,"rejected":0,"errors":[],"skewCorrectedMs":\#(-clientAhead)}"#
        #expect(body(response) == expected)
        #expect(response.beacon?.events.first?.ts == Self.now - 1000)
    }

    @Test func botsAreDroppedWith202AndCounted() throws {
        var ingest = BeaconAdmission()
        var call = Call()
        call.userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
        let response = run(call, ingest: &ingest)
        #expect(response.status == 202)
        #expect(response.beacon == nil)
        // Said plainly, so someone trying the API sees why nothing appears.
        #expect(body(response) == #"{"accepted":0,"rejected":0,"errors":[],"dropped":{"bot":10}}"#)
        let headless = try #require(ingest.bots.families.firstIndex { $0.name == "headless" })
        #expect(response.botFamily == headless)
        #expect(ingest.botCounts.dropped[headless] == 1)
        call.userAgent = nil   // a web beacon without a User-Agent did not come from a browser
        let program = run(call, ingest: &ingest)
        #expect(program.botFamily != nil)
        #expect(body(program) == #"{"accepted":0,"rejected":0,"errors":[],"dropped":{"nonBrowser":10}}"#)
        #expect(ingest.botCounts.dropped.reduce(0, +) == 2)
    }

    @Test func rateLimitIs429WithRetryAfter() {
        var ingest = BeaconAdmission()
        var call = Call()
        call.body = Self.beacon(app: "limited")
        #expect(run(call, ingest: &ingest).status == 202)
        #expect(run(call, ingest: &ingest).status == 202)
        let limited = run(call, ingest: &ingest)
        #expect(limited.status == 429)
        #expect(limited.headers.contains(.init("Retry-After", "1")))
        #expect(body(limited).contains("rate limit"))
        call.monotonic = 1_000
        #expect(run(call, ingest: &ingest).status == 202)
    }

    @Test func forwardedForOnlyFromTrustedProxies() throws {
        var ingest = BeaconAdmission(trustedProxies: try TrustedProxies.parse("10.0.0.0/8").get())
        var call = Call()
        call.forwardedFor = ["198.51.100.23"]
        #expect(run(call, ingest: &ingest).beacon?.clientAddress == "203.0.113.0")
        call.peer = IPAddress("10.1.2.3")!
        #expect(run(call, ingest: &ingest).beacon?.clientAddress == "198.51.100.0")
        call.peer = IPAddress("2001:db8:1:2::9")!
        call.forwardedFor = []
        #expect(run(call, ingest: &ingest).beacon?.clientAddress == "2001:db8:1::")
    }

    @Test func partialAcceptListsRejections() {
        var call = Call()
        call.body = Array(#"{"app":"shop","platform":"web","visitor":"v","sentAt":1700000005000,"events":[{"id":"a","type":"view","ts":1700000005000},{"id":"a","type":"view","ts":1700000005000},{"id":"b","type":"zap","ts":1700000005000},{"id":"c","type":"view","ts":1600000000000}]}"#.utf8)
        let response = run(call)
        #expect(response.status == 202)
        #expect(body(response) == #"{"accepted":1,"rejected":3,"errors":[{"index":1,"reason":"duplicate event id \"a\" (first at index 0)"},{"index":2,"reason":"type \"zap\" is not an event type (view, action, request, resource, error, heartbeat, session_start, session_end, app_start, app_background, app_foreground, custom)"},{"index":3,"reason":"ts is 100000006000 ms old, older than the allowed lateness of 900000 ms"}]}"#)
        #expect(response.beacon?.events.map(\.id) == ["a"])
    }

    @Test func allEventsRejectedPassesNoBeacon() {
        var call = Call()
        call.body = Array(#"{"app":"shop","platform":"web","visitor":"v","sentAt":1,"events":[]}"#.utf8)
        let response = run(call)
        #expect(response.status == 202)
        #expect(response.beacon == nil)
    }

    @Test func nameThatIsAURLIsScrubbed() {
        var events = [Event(id: "a", type: .view, ts: 1, name: "https://x.test/?token=1", url: "/a?pwd=2"),
                      Event(id: "b", type: .action, ts: 1, name: "click ?token=1")]
        QueryScrubber().scrubURLs(in: &events)
        #expect(events[0].name == "https://x.test/?token=REDACTED")
        #expect(events[0].url == "/a?pwd=REDACTED")
        #expect(events[1].name == "click ?token=1")
    }

    @Test func constantTimeComparison() {
        #expect(constantTimeEqual("abc", "abc"))
        #expect(!constantTimeEqual("abc", "abd"))
        #expect(!constantTimeEqual("abc", "abc\0"))
        #expect(!constantTimeEqual("", "a"))
        #expect(constantTimeEqual("", ""))
    }

    @Test func appsJSONSettingsMapToAdmittedApps() throws {
        let config = try AppConfig.parse(Array(#"""
        {"apps":{
          "shop":{"platform":"web","allowedOrigins":["https://shop.example.com"],"scrubQueryParameters":["coupon"],
                  "rateLimit":{"eventsPerSecond":1,"burst":3},"rules":{"lateness":60000}},
          "api":{"platform":"custom","ingestKey":"k1-secret","allowedOrigins":[]}
        }}
        """#.utf8))
        let shop = AdmittedApp(settings: try #require(config.settings(for: "shop")))
        #expect(shop.cors.allows(origin: "https://shop.example.com"))
        #expect(shop.rateLimitCountsEvents)
        #expect(shop.rateLimit == .init(ratePerSecond: 1, burst: 3))
        #expect(shop.rules.lateness == 60_000)
        #expect(shop.scrubber.scrub("/?coupon=X&token=t") == "/?coupon=REDACTED&token=t")
        let api = AdmittedApp(settings: try #require(config.settings(for: "api")))
        #expect(api.ingestKey == "k1-secret")
        #expect(api.rateLimit == .init(ratePerSecond: 1000, burst: 2000))   // the default limit
        #expect(!api.cors.allows(origin: "https://any.test"))
        #expect(config.settings(for: "other") == nil)

        // Events as the unit: the realistic beacon's 10 events need 10 tokens, the burst is 3.
        var ingest = BeaconAdmission()
        let apps: [String: AdmittedApp] = ["shop": shop]
        #expect(run(Call(), ingest: &ingest, apps: apps).status == 202)   // charged as the burst
        #expect(run(Call(), ingest: &ingest, apps: apps).status == 429)
    }
}
