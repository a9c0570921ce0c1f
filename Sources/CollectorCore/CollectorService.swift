// The collector put together: HTTP ingress (Transport + Beacon) → pipeline (route, batch,
// spool) → one Wire client per shard (Transport). Testable in-process: the `collector`
// executable only parses settings and calls `start`.
#if canImport(Glibc)
import Glibc
#endif
import Model
import Beacon
import Config
import Dispatch
import Synchronization
import Transport
import Wire
import System

public struct CollectorConfiguration: Sendable {
    public var httpHost = "127.0.0.1"
    public var httpPort: UInt16 = 8080
    public var httpLoops = 1
    /// Holds `producer-id`, `epoch` and `spool/`.
    public var dataDirectory: String
    public var shards: [ShardEndpoint]
    public var pipeline = PipelineOptions()
    public var spool = SpoolOptions()
    public var shutdownTimeoutNanoseconds: UInt64 = 10_000_000_000
    public var drainOnExit = false
    public var trustedProxies = TrustedProxies()
    public var maxWireBytes = 1 << 20
    public var nodeID = "collector"
    public var softwareVersion = "0.1.0"

    public init(dataDirectory: String, shards: [ShardEndpoint]) {
        self.dataDirectory = dataDirectory
        self.shards = shards
    }
}

public final class CollectorService: Sendable {
    public let pipeline: Pipeline
    public let metrics: MetricsRegistry
    public let configuration: CollectorConfiguration
    private let http: HTTPServer
    private let connections: ShardConnections
    private let log: Log

    /// Opens the data folder (identity, spool replay), connects to every shard and starts
    /// listening for beacons.
    public static func start(_ configuration: CollectorConfiguration, apps: AppConfigStore,
                             metrics: MetricsRegistry = MetricsRegistry(), log: Log = .standardError) throws -> CollectorService {
        try fileIO(FileIO.makeDirectory(configuration.dataDirectory))
        let identity = try ProducerIdentity.load(directory: configuration.dataDirectory)
        let spool = try Spool(directory: configuration.dataDirectory + "/spool", options: configuration.spool, metrics: metrics)
        let pipeline = Pipeline(identity: identity, shards: configuration.shards.map(\.id), spool: spool,
                                encoder: WireBatchEncoder(), options: configuration.pipeline, metrics: metrics, log: log)
        log.write("collector: producer \(ProducerIdentity.hex(identity.producer)) epoch \(identity.epoch), "
                  + "\(spool.liveBatches) batches waiting in the spool, ack mode \(configuration.pipeline.ackMode.rawValue)")

        let ingress = IngressRoute(apps: { apps.current }, pipeline: PipelineSink(pipeline: pipeline, metrics: metrics),
                                   ingest: BeaconAdmission(maxWireBytes: configuration.maxWireBytes,
                                                        trustedProxies: configuration.trustedProxies),
                                   metrics: IngressMetrics(metrics))
        var router = HTTPRouter()
        ingress.register(in: &router)
        RumScript().register(in: &router)
        router.add(.get, "/healthz") { _, responder in
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array("{\"status\":\"ok\"}\n".utf8)))
        }
        router.add(.get, "/readyz") { _, responder in
            let reason = pipeline.unreadyReason
            responder.respond(HTTPResponse(status: reason == nil ? 200 : 503, headers: [("Content-Type", "application/json")],
                                           body: Array((reason.map { "{\"ready\":false,\"reason\":\"\($0)\"}\n" } ?? "{\"ready\":true}\n").utf8)))
        }
        router.add(.get, "/metrics") { _, responder in
            for (family, count) in ingress.botDrops {
                switch family.kind {
                case .bot:
                    metrics.counter("clickpath_bots_dropped_total", help: "Beacons dropped as bots (answered 202, never stored), by pattern family.",
                                    labels: [("family", family.name)]).advance(to: count)
                case .nonBrowser:
                    metrics.counter("clickpath_non_browser_dropped_total",
                                    help: "Web beacons dropped because a program that is no browser sent them (answered 202, never stored), by pattern family.",
                                    labels: [("family", family.name)]).advance(to: count)
                }
            }
            responder.respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                           body: Array(metrics.render().utf8)))
        }
        var httpConfiguration = HTTPServerConfiguration()
        httpConfiguration.host = configuration.httpHost
        httpConfiguration.port = configuration.httpPort
        httpConfiguration.loopCount = max(1, configuration.httpLoops)
        httpConfiguration.name = "collector-http"
        let http = try HTTPServer.start(httpConfiguration, router: router)

        pipeline.startTimer()
        let connections = try ShardConnections.start(pipeline: pipeline, endpoints: configuration.shards,
                                                     nodeID: configuration.nodeID, softwareVersion: configuration.softwareVersion,
                                                     log: log)
        return CollectorService(pipeline: pipeline, metrics: metrics, configuration: configuration, http: http,
                                connections: connections, log: log)
    }

    private init(pipeline: Pipeline, metrics: MetricsRegistry, configuration: CollectorConfiguration, http: HTTPServer,
                 connections: ShardConnections, log: Log) {
        self.pipeline = pipeline
        self.metrics = metrics
        self.configuration = configuration
        self.http = http
        self.connections = connections
        self.log = log
    }

    /// The port the HTTP server listens on (useful with port 0).
    public var httpPort: UInt16 { http.port }

    /// SIGTERM: stop accepting, follow the shutdown plan, close everything. Blocks; call it
    /// from a thread other than the event loops. Exit 0 afterwards whatever it returns.
    public func shutdown() -> ShutdownPlan.Decision {
        http.stopAccepting()
        let decision = pipeline.shutdown(drainOnExit: configuration.drainOnExit,
                                         timeoutNanoseconds: configuration.shutdownTimeoutNanoseconds)
        if case let .exit(left, timedOut) = decision {
            log.write("collector: stopped\(timedOut ? " at the shutdown deadline" : ""); \(left) batches stay in the spool for the next start")
        }
        connections.stop()
        http.stop()
        return decision
    }
}

/// The pipeline as the beacon route sees it: results become the route's HTTP answers, counted
/// by status (answers the route gives on its own, 400/403/413/415/429, are not counted here).
struct PipelineSink: BeaconSink {
    let pipeline: Pipeline
    let metrics: MetricsRegistry

    func submit(_ beacon: Beacon, completion: @escaping @Sendable (SinkResult) -> Void) {
        let events = UInt64(beacon.events.count)
        let metrics = self.metrics
        pipeline.submit(beacon) { result in
            let answer: SinkResult
            let status: String
            switch result {
            case .accepted:
                answer = .accepted
                status = "202"
                metrics.counter("clickpath_events_accepted_total", help: "Events answered 202 by the pipeline.").increment(by: events)
            case let .spoolFull(retry):
                answer = .unavailable(retryAfterSeconds: retry, reason: "the collector's spool is full; retry later")
                status = "503"
            case let .unavailable(retry, reason):
                answer = .unavailable(retryAfterSeconds: retry, reason: reason)
                status = "503"
            case let .rejected(reason):
                answer = .rejected(reason: reason)
                status = "500"
            }
            metrics.counter("clickpath_pipeline_answers_total", help: "Beacons answered by the pipeline, by HTTP status.",
                            labels: [("status", status)]).increment()
            completion(answer)
        }
    }
}
