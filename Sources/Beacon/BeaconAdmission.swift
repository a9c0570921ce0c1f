import Model
import Config
import System

/// What the collector needs to know about one application to admit its beacons, built from
/// its apps.json entry (`init(settings:)`; the `"*"` entry included).
public struct AdmittedApp: Sendable {
    /// The platform apps.json gives the app: a beacon that names another is refused (400), so
    /// the platform of a visitor's sessions never depends on which beacon came first.
    public var platform: Platform
    /// When set, every beacon must carry it (`?key=` or `X-Clickpath-Key`).
    public var ingestKey: String?
    public var cors: CORSPolicy
    /// nil: no rate limit.
    public var rateLimit: RateLimiter.Limit?
    /// The rate limit counts events (each beacon takes one token per event) instead of beacons.
    public var rateLimitCountsEvents: Bool
    /// The app's session rules (lateness and clock skew are used here).
    public var rules: SessionRules
    public var scrubber: QueryScrubber

    public init(platform: Platform = .web, ingestKey: String? = nil, allowedOrigins: [String] = ["*"],
                rateLimit: RateLimiter.Limit? = nil, rateLimitCountsEvents: Bool = false, rules: SessionRules? = nil,
                scrubber: QueryScrubber = QueryScrubber()) {
        self.platform = platform
        self.ingestKey = ingestKey
        self.cors = CORSPolicy(allowedOrigins: allowedOrigins)
        self.rateLimit = rateLimit
        self.rateLimitCountsEvents = rateLimitCountsEvents
        self.rules = rules ?? .defaults(for: platform)
        self.scrubber = scrubber
    }

    public init(settings: AppSettings) {
        self.init(platform: settings.platform, ingestKey: settings.ingestKey, allowedOrigins: settings.allowedOrigins,
                  rateLimit: settings.rateLimit.map { .init(ratePerSecond: $0.perSecond, burst: Double($0.burst)) },
                  rateLimitCountsEvents: settings.rateLimit?.unit == .events,
                  rules: settings.rules,
                  scrubber: settings.scrubQueryParameters.map { QueryScrubber(names: $0) } ?? .standard)
    }
}

/// One `POST /v1/beacons` as the HTTP layer hands it over (header values raw, as sent).
public struct BeaconRequest {
    public var body: UnsafeRawBufferPointer
    public var contentType: String?
    public var contentEncoding: String?
    public var origin: String?
    /// `?key=` of the request target, or the `X-Clickpath-Key` header.
    public var key: String?
    public var userAgent: String?
    public var peer: IPAddress
    /// Every `X-Forwarded-For` value, in order.
    public var forwardedFor: [Substring]
    /// Wall clock, epoch ms: `receivedAt` of the beacon.
    public var receivedAt: Int64
    /// Monotonic ms for the rate limiter.
    public var monotonicNow: Int64

    public init(body: UnsafeRawBufferPointer, contentType: String?, contentEncoding: String? = nil,
                origin: String? = nil, key: String? = nil, userAgent: String? = nil, peer: IPAddress,
                forwardedFor: [Substring] = [], receivedAt: Int64, monotonicNow: Int64) {
        self.body = body
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.origin = origin
        self.key = key
        self.userAgent = userAgent
        self.peer = peer
        self.forwardedFor = forwardedFor
        self.receivedAt = receivedAt
        self.monotonicNow = monotonicNow
    }
}

/// The answer to one beacon request, and the beacon to pass on when one was accepted.
public struct BeaconResponse: Sendable {
    public var status: Int
    /// JSON.
    public var body: [UInt8]
    /// CORS headers, `Retry-After`.
    public var headers: [CORSPolicy.Header]
    /// Accepted events with the envelope (`nil` unless at least one event was accepted).
    public var beacon: Beacon?
    /// Set when the beacon was dropped as a bot or non-browser program: the family index in
    /// `BotMatcher.families`.
    public var botFamily: Int?
    /// Why each rejected event of an accepted beacon was rejected, in index order (for metrics).
    public var rejections: [EventRejection] = []
}

/// The collector's admission of beacons: content checks, inflate, parse, app and key, CORS,
/// bots, rate limit, per-event decisions and privacy, in that order. A value owned by one event
/// loop (its rate limiter and counters are not shared). No I/O: the HTTP layer calls `handle`.
public struct BeaconAdmission: Sendable {
    public var parser: BeaconParser
    public var inflateLimits: InflateLimits
    /// Bytes on the wire (before inflating); 1 MiB by default.
    public var maxWireBytes: Int
    public var trustedProxies: TrustedProxies
    public var bots: BotMatcher
    public private(set) var botCounts: BotCounts
    public private(set) var rateLimiter = RateLimiter()
    /// Reused between requests so inflating allocates once per loop, not per beacon.
    private var inflated: [UInt8] = []
    /// Fill a web beacon's missing device fields from its User-Agent (Sources/Beacon/README.md).
    public var deviceRules: DeviceRules
    /// Derived devices by User-Agent; each loop's admission has its own.
    public private(set) var deviceCache: DeviceCache

    public init(parser: BeaconParser = BeaconParser(), inflateLimits: InflateLimits = InflateLimits(),
                maxWireBytes: Int = 1 << 20, trustedProxies: TrustedProxies = TrustedProxies(),
                bots: BotMatcher = .builtIn, deviceRules: DeviceRules = .builtIn, deviceCacheCapacity: Int = 4096) {
        self.deviceRules = deviceRules
        self.deviceCache = DeviceCache(capacity: deviceCacheCapacity)
        self.parser = parser
        self.inflateLimits = inflateLimits
        self.maxWireBytes = maxWireBytes
        self.trustedProxies = trustedProxies
        self.bots = bots
        self.botCounts = BotCounts(familyCount: bots.families.count)
    }

    /// `lookup` answers the app of an id (the `"*"` entry where apps.json has one), nil for 403.
    /// `anyAppAllows` says whether some app (or `"*"`) allows an origin: answers given before the
    /// app is known (415, 413, 400, 403 for an unknown app) carry that origin's CORS headers then,
    /// so a page can read why it was refused.
    public mutating func handle(_ request: BeaconRequest, lookup: (String) -> AdmittedApp?,
                                anyAppAllows: (String) -> Bool = { _ in false }) -> BeaconResponse {
        do throws(BeaconError) {
            try BeaconAdmission.checkContentType(request.contentType)
            guard request.body.count <= maxWireBytes else { throw .bodyTooLarge(limit: maxWireBytes) }
            let encoding = try ContentEncoding(headerValue: (request.contentEncoding ?? "").utf8)
            let parsed: ParsedBeacon
            if encoding == .identity {
                parsed = try parser.parse(request.body, receivedAt: request.receivedAt)
            } else {
                var buffer = inflated
                inflated = []
                // Keep the buffer for the next beacon, unless a rare large body (or a bomb) grew it.
                defer { inflated = buffer.capacity > 4 << 20 ? [] : buffer }
                try Inflate.inflate(request.body, encoding: encoding, limits: inflateLimits, into: &buffer)
                parsed = try parser.parse(buffer, receivedAt: request.receivedAt)
            }
            return admit(parsed, request, lookup: lookup, anyAppAllows: anyAppAllows)
        } catch {
            return BeaconAdmission.refusal(status: error.status, message: error.description,
                                        headers: BeaconAdmission.headersBeforeApp(request.origin, anyAppAllows))
        }
    }

    /// CORS headers for an answer given before the app is known: those of the origin when any
    /// app allows it.
    static func headersBeforeApp(_ origin: String?, _ anyAppAllows: (String) -> Bool) -> [CORSPolicy.Header] {
        guard let origin, anyAppAllows(origin) else { return [] }
        return CORSPolicy.answerHeaders(origin: origin)
    }

    private mutating func admit(_ parsed: consuming ParsedBeacon, _ request: BeaconRequest,
                                lookup: (String) -> AdmittedApp?, anyAppAllows: (String) -> Bool) -> BeaconResponse {
        let appID = parsed.envelope.app
        guard let app = lookup(appID) else {
            return BeaconAdmission.refusal(status: 403, message: "unknown app \"\(appID)\": add it to apps.json",
                                        headers: BeaconAdmission.headersBeforeApp(request.origin, anyAppAllows))
        }
        var headers: [CORSPolicy.Header] = []
        switch app.cors.decide(origin: request.origin) {
        case .notCORS: break
        case .allowed(let cors): headers = cors
        case .refused(let reason): return BeaconAdmission.refusal(status: 403, message: reason, headers: [])
        }
        if let expected = app.ingestKey {
            guard let key = request.key else {
                return BeaconAdmission.refusal(status: 403, message: "app \"\(appID)\" needs its ingest key (?key= or X-Clickpath-Key)", headers: headers)
            }
            guard constantTimeEqual(key, expected) else {
                return BeaconAdmission.refusal(status: 403, message: "wrong ingest key for app \"\(appID)\"", headers: headers)
            }
        }
        guard parsed.envelope.platform == app.platform else {
            return BeaconAdmission.refusal(
                status: 400,
                message: "beacon platform \"\(parsed.envelope.platform.name)\" does not match the platform \"\(app.platform.name)\" apps.json gives app \"\(appID)\"",
                headers: headers)
        }
        var userAgent = request.userAgent ?? ""
        if let family = userAgent.withUTF8({ bots.match($0, platform: parsed.envelope.platform) }) {
            botCounts.record(family: family)
            // Said plainly: someone trying the API with curl sees at once why nothing appears.
            let events = parsed.envelope.events.count + parsed.invalid.count
            return BeaconResponse(status: 202, body: AnswerBody.accepted(count: 0, rejections: [],
                                                                          dropped: (bots.families[family].kind, events)),
                                  headers: headers, beacon: nil, botFamily: family)
        }
        let cost = app.rateLimitCountsEvents ? max(1, parsed.envelope.events.count + parsed.invalid.count) : 1
        if case .limited(let seconds) = rateLimiter.take(app: appID, limit: app.rateLimit, cost: cost, now: request.monotonicNow) {
            return BeaconAdmission.refusal(status: 429, message: "rate limit of app \"\(appID)\" exceeded; retry after \(seconds) s",
                                        headers: headers + [CORSPolicy.Header("Retry-After", String(seconds))])
        }
        let platform = parsed.envelope.platform
        var decision = EventDecisions.decide(parsed, rules: app.rules, limits: parser.limits)
        let address = ClientAddress.resolve(peer: request.peer, forwardedFor: request.forwardedFor, trusted: trustedProxies)
        decision.beacon.clientAddress = address.masked.description
        decision.beacon.userAgent = request.userAgent
        if platform == .web, let agent = request.userAgent, !agent.isEmpty {
            fillDevice(&decision.beacon.device, userAgent: agent)
        }
        app.scrubber.scrubURLs(in: &decision.beacon.events)
        return BeaconResponse(status: 202, body: AnswerBody.accepted(decision), headers: headers,
                              beacon: decision.beacon.events.isEmpty ? nil : decision.beacon, botFamily: nil,
                              rejections: decision.rejections.map(\.reason))
    }

    /// Client-sent fields win: only the browser, OS and device type the beacon lacks are derived.
    private mutating func fillDevice(_ device: inout Device?, userAgent: String) {
        var current = device ?? Device()
        guard current.browser == nil || current.browserVersion == nil || current.os == nil
                || current.osVersion == nil || current.deviceType == nil else { return }
        // Real User-Agents are far shorter; the prefix bounds the cache's memory and the cost of
        // an uncached one, whatever a client sends.
        let key = userAgent.utf8.count > DeviceCache.maxKeyBytes
            ? String(decoding: userAgent.utf8.prefix(DeviceCache.maxKeyBytes), as: UTF8.self) : userAgent
        let rules = deviceRules
        let derived = deviceCache.device(for: key) { rules.derive(key) }
        current.fillMissing(from: derived)
        device = current == Device() ? device : current
    }

    static func refusal(status: Int, message: String, headers: [CORSPolicy.Header]) -> BeaconResponse {
        BeaconResponse(status: status, body: AnswerBody.error(status: status, message: message),
                       headers: headers, beacon: nil, botFamily: nil)
    }

    /// `application/json` or `text/plain` (so `sendBeacon` needs no preflight), optionally with
    /// `charset=utf-8`; anything else is 415.
    static func checkContentType(_ value: String?) throws(BeaconError) {
        guard let value else { throw .unsupportedContentType("(none)") }
        let parts = value.split(separator: ";")
        let media = (parts.first ?? "").trimmingASCIISpaces().lowercased()
        guard media == "application/json" || media == "text/plain" else { throw .unsupportedContentType(String(value.prefix(100))) }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingASCIISpaces().lowercased() == "charset" else { continue }
            var charset = pair[1].trimmingASCIISpaces().lowercased()
            if charset.hasPrefix("\""), charset.hasSuffix("\""), charset.count >= 2 { charset = String(charset.dropFirst().dropLast()) }
            guard charset == "utf-8" || charset == "utf8" else { throw .unsupportedContentType(String(value.prefix(100))) }
        }
    }
}

extension QueryScrubber {
    /// Scrubs `url` of every event, and `name` when it is a URL (views are often named by theirs).
    public func scrubURLs(in events: inout [Event]) {
        for index in events.indices {
            if let url = events[index].url { events[index].url = scrub(url) }
            if let name = events[index].name, name.hasPrefix("http://") || name.hasPrefix("https://") || name.hasPrefix("/") {
                events[index].name = scrub(name)
            }
        }
    }
}
