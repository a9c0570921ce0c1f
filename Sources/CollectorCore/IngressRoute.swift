#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Synchronization
import Beacon
import Config
import Transport
import Wire
import System

/// The `BeaconAdmission` of one HTTP loop; only that loop's thread takes its lock.
final class LoopAdmission: Sendable {
    let state: Mutex<BeaconAdmission>
    /// `AdmittedApp`s built once per app and settings, not per request.
    private let apps = Mutex<[String: (settings: AppSettings, app: AdmittedApp)]>([:])

    init(_ ingest: BeaconAdmission) { state = Mutex(ingest) }

    func app(_ settings: AppSettings) -> AdmittedApp {
        apps.withLock { cache in
            if let hit = cache[settings.id], hit.settings == settings { return hit.app }
            // The "*" entry admits any id: keep the cache bounded whatever ids arrive.
            if cache.count >= 1024 { cache.removeAll(keepingCapacity: true) }
            let app = AdmittedApp(settings: settings)
            cache[settings.id] = (settings, app)
            return app
        }
    }
}

/// What the beacon route reports to `/metrics`: every answer by status (its own 4xx as well as
/// the pipeline's), events rejected by reason, request bytes in. Counters are created once.
public final class IngressMetrics: Sendable {
    private let registry: MetricsRegistry
    let bytesIn: Counter

    public init(_ registry: MetricsRegistry) {
        self.registry = registry
        bytesIn = registry.counter("clickpath_ingress_bytes_total", help: "Request body bytes received on /v1/beacons (as sent, before inflating).")
    }

    func answered(_ status: Int) {
        registry.counter("clickpath_requests_total", help: "Answers of /v1/beacons and its preflight, by HTTP status.",
                         labels: [("status", String(status))]).increment()
    }

    func rejected(_ rejections: [EventRejection]) {
        for rejection in rejections {
            registry.counter("clickpath_events_rejected_total", help: "Events of accepted beacons that were rejected, by reason.",
                             labels: [("reason", rejection.metricLabel)]).increment()
        }
    }
}

extension EventRejection {
    /// A bounded label (the description carries input-derived text).
    var metricLabel: String {
        switch self {
        case .invalid: "invalid"
        case .duplicateID: "duplicate_id"
        case .inFuture: "in_future"
        case .tooLate: "too_late"
        }
    }
}

/// `POST /v1/beacons` and its CORS preflight on Transport's HTTP server: request bytes go to
/// `BeaconAdmission` (one per HTTP loop: rate limiter, bot counts and buffers belong to the loop),
/// accepted beacons to the pipeline; the answer waits for the pipeline's.
public final class IngressRoute: Sendable {
    private let apps: @Sendable () -> AppConfig
    private let pipeline: any BeaconSink
    private let clock: DaemonClock
    private let template: BeaconAdmission
    private let ingests = Mutex<[ObjectIdentifier: LoopAdmission]>([:])
    private let metrics: IngressMetrics?

    /// `apps` answers the current apps.json (a reload swaps what it returns).
    public init(apps: @escaping @Sendable () -> AppConfig, pipeline: any BeaconSink,
                ingest: BeaconAdmission = BeaconAdmission(), clock: DaemonClock = .system, metrics: IngressMetrics? = nil) {
        self.apps = apps
        self.metrics = metrics
        self.pipeline = pipeline
        self.clock = clock
        self.template = ingest
    }

    public func register(in router: inout HTTPRouter) {
        // A body the HTTP layer refuses (over 1 MiB, malformed chunks, too slow) comes before the
        // app is known: its answer carries the origin's CORS headers when any app allows it.
        router.add(.post, "/v1/beacons", maxBodyBytes: template.maxWireBytes, refusalHeaders: { [apps] request in
            guard let origin = request.header("Origin"), IngressRoute.anyApp(of: apps(), allows: origin) else { return [] }
            return CORSPolicy.answerHeaders(origin: origin).map { ($0.name, $0.value) }
        }) { [self] request, responder in
            beacon(request, responder)
        }
        router.add(.options, "/v1/beacons") { [self] request, responder in
            let response = preflight(request)
            metrics?.answered(response.status)
            responder.respond(response)
        }
    }

    /// Beacons dropped by the bot list, per family, summed over the loops; every family of the
    /// list is present (zero when nothing was dropped), so a metric exists from the start.
    public var botDrops: [(family: BotMatcher.Family, dropped: UInt64)] {
        var total = template.bots.families.map { (family: $0, dropped: UInt64(0)) }
        ingests.withLock { table in
            for box in table.values {
                box.state.withLock { ingest in
                    for (index, count) in ingest.botCounts.dropped.enumerated() where total.indices.contains(index) {
                        total[index].dropped &+= count
                    }
                }
            }
        }
        return total
    }

    private func loopAdmission(_ loop: EventLoop) -> LoopAdmission {
        let key = ObjectIdentifier(loop)
        return ingests.withLock { table in
            if let box = table[key] { return box }
            let box = LoopAdmission(template)
            table[key] = box
            return box
        }
    }

    func beacon(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let metrics = self.metrics
        metrics?.bytesIn.increment(by: UInt64(request.body.count))
        let config = apps()
        let receivedAt = clock.wallMilliseconds(), now = clock.monotonicMilliseconds()
        let response: BeaconResponse = request.body.withUnsafeBytes { body in
            let ingestRequest = BeaconRequest(
                body: body, contentType: request.header("Content-Type"), contentEncoding: request.header("Content-Encoding"),
                origin: request.header("Origin"), key: request.queryParameter("key") ?? request.header("X-Clickpath-Key"),
                userAgent: request.header("User-Agent"), peer: IngressRoute.address(request.peer),
                forwardedFor: request.headerValues("X-Forwarded-For").map { Substring($0) },
                receivedAt: receivedAt, monotonicNow: now)
            let box = loopAdmission(responder.eventLoop)
            return box.state.withLock { ingest in
                ingest.handle(ingestRequest, lookup: { config.settings(for: $0).map(box.app) },
                              anyAppAllows: { IngressRoute.anyApp(of: config, allows: $0) })
            }
        }
        let headers = [("Content-Type", "application/json")] + response.headers.map { ($0.name, $0.value) }
        metrics?.rejected(response.rejections)
        guard let beacon = response.beacon else {
            metrics?.answered(response.status)
            responder.respond(HTTPResponse(status: response.status, headers: headers, body: response.body))
            return
        }
        pipeline.submit(beacon) { result in
            switch result {
            case .accepted: metrics?.answered(202)
            case .unavailable: metrics?.answered(503)
            case .rejected: metrics?.answered(500)
            }
            switch result {
            case .accepted:
                responder.respond(HTTPResponse(status: 202, headers: headers, body: response.body))
            case .unavailable(let seconds, let reason):
                responder.respond(HTTPResponse(status: 503, headers: headers + [("Retry-After", String(seconds))],
                                               body: AnswerBody.error(status: 503, message: reason)))
            case .rejected(let reason):
                responder.respond(HTTPResponse(status: 500, headers: headers, body: AnswerBody.error(status: 500, message: reason)))
            }
        }
    }

    /// Whether any app of `config` (or its `"*"` entry) allows `origin`.
    static func anyApp(of config: AppConfig, allows origin: String) -> Bool {
        everyOrigin(of: config).allows(origin: origin)
    }

    static func everyOrigin(of config: AppConfig) -> CORSPolicy {
        CORSPolicy(allowedOrigins: config.apps.values.flatMap(\.allowedOrigins) + (config.wildcard?.allowedOrigins ?? []))
    }

    /// A preflight has no body, so no app id: `?app=` names it; without it the origins of every
    /// app (and the `"*"` entry) count. The POST is then checked against its own app's list.
    func preflight(_ request: HTTPRequest) -> HTTPResponse {
        let config = apps()
        let policy: CORSPolicy
        if let app = request.queryParameter("app") {
            policy = CORSPolicy(allowedOrigins: config.settings(for: app)?.allowedOrigins ?? [])
        } else {
            policy = IngressRoute.everyOrigin(of: config)
        }
        let decision = policy.preflight(
            origin: request.header("Origin"), requestMethod: request.header("Access-Control-Request-Method"),
            requestHeaders: request.header("Access-Control-Request-Headers"))
        switch decision {
        case .allowed(let headers):
            return HTTPResponse(status: 204, headers: headers.map { ($0.name, $0.value) })
        case .refused(let reason):
            return HTTPResponse(status: 403, headers: [("Content-Type", "application/json")],
                                body: AnswerBody.error(status: 403, message: reason))
        case .notCORS:
            return HTTPResponse(status: 204)
        }
    }

    static func address(_ socket: SocketAddress) -> IPAddress {
        let bytes = socket.addressBytes
        if bytes.count == 16 { return IPAddress(v6Bytes: bytes) }
        return .v4(bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
}
