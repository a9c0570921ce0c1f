import System

/// sessiond's metrics in the daemons' one `MetricsRegistry`, updated from every thread, rendered
/// as Prometheus text on `/metrics`.
public final class SessiondMetrics: Sendable {
    /// Bucket bounds of every latency histogram of sessiond, in seconds.
    static let seconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    public let registry: MetricsRegistry
    private let batches: [String: Counter]
    private let eventsNew: Counter
    private let eventsDuplicate: Counter
    private let eventsDropped: Counter
    private let commit: Histogram
    private let freshnessHistogram: Histogram
    private let liveSessions: Gauge
    private let sessionsCompleted: Counter
    private let databaseBytes: Gauge
    private let wireConnections: Gauge
    private let wireErrors: Counter
    private let queueDepth: Gauge
    private let erasures: Counter

    private static let querySeconds = "clickpath_sessiond_query_seconds"
    private static let queryResponses = "clickpath_sessiond_query_responses_total"

    public init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        let r = registry
        var batches: [String: Counter] = [:]
        for outcome in ["committed", "duplicate", "rejected"] {
            batches[outcome] = r.counter("clickpath_sessiond_batches_total", help: "Wire batches by outcome (committed, duplicate, rejected).",
                                         labels: [("outcome", outcome)])
        }
        self.batches = batches
        let events = "Events in committed batches: new, duplicate (already stored), dropped (erased user or visitor)."
        eventsNew = r.counter("clickpath_sessiond_events_total", help: events, labels: [("kind", "new")])
        eventsDuplicate = r.counter("clickpath_sessiond_events_total", help: events, labels: [("kind", "duplicate")])
        eventsDropped = r.counter("clickpath_sessiond_events_total", help: events, labels: [("kind", "dropped")])
        commit = r.histogram("clickpath_sessiond_commit_seconds", help: "Time to apply and commit one batch.", bounds: Self.seconds)
        freshnessHistogram = r.histogram("clickpath_sessiond_freshness_seconds",
                                         help: "From the collector's receipt of an event to its commit here.", bounds: Self.seconds)
        r.declare(Self.querySeconds, kind: .histogram, help: "Query API latency by route.")
        r.declare(Self.queryResponses, kind: .counter, help: "Query API answers by route and status.")
        liveSessions = r.gauge("clickpath_sessiond_live_sessions", help: "Sessions still live.")
        sessionsCompleted = r.counter("clickpath_sessiond_sessions_completed_total",
                                      help: "Sessions completed by the watermark (their timeout passed).")
        databaseBytes = r.gauge("clickpath_sessiond_database_bytes", help: "Size of the SQLite database plus its WAL.")
        wireConnections = r.gauge("clickpath_sessiond_wire_connections", help: "Open Wire connections.")
        wireErrors = r.counter("clickpath_sessiond_wire_errors_total", help: "Wire connections closed for a protocol or I/O error.")
        queueDepth = r.gauge("clickpath_sessiond_ingest_queue_batches", help: "Batches waiting for the writer.")
        erasures = r.counter("clickpath_sessiond_erasures_total", help: "Erasure requests carried out.")
    }

    public func batch(_ outcome: String, new: Int, duplicate: Int, dropped: Int, commitSeconds: Double) {
        let counter = batches[outcome] ?? registry.counter("clickpath_sessiond_batches_total", help: "",
                                                           labels: [("outcome", outcome)])
        counter.increment()
        eventsNew.increment(by: UInt64(max(0, new)))
        eventsDuplicate.increment(by: UInt64(max(0, duplicate)))
        eventsDropped.increment(by: UInt64(max(0, dropped)))
        if outcome == "committed" { commit.observe(commitSeconds) }
    }

    /// Seconds from the collector's `receivedAt` to our commit, for `events` events.
    public func freshness(_ seconds: Double, events: Int) {
        freshnessHistogram.observe(max(0, seconds), times: UInt64(max(0, events)))
    }

    public func query(_ route: Route, status: Int, seconds: Double) {
        let label = route.metricLabel
        registry.histogram(Self.querySeconds, help: "", bounds: Self.seconds, labels: [("route", label)]).observe(seconds)
        registry.counter(Self.queryResponses, help: "", labels: [("route", label), ("status", String(status))]).increment()
    }

    public func wireConnection(opened: Bool) { wireConnections.add(opened ? 1 : -1) }
    public func wireError() { wireErrors.increment() }
    public func queue(depth: Int) { queueDepth.set(Double(depth)) }
    public func completed(_ n: Int) { sessionsCompleted.increment(by: UInt64(max(0, n))) }
    public func erased() { erasures.increment() }

    public var freshnessP99: Double? { freshnessHistogram.quantile(0.99) }
    public var commitP99: Double? { commit.quantile(0.99) }

    /// Prometheus text format 0.0.4. `liveSessions` and `databaseBytes` are read at scrape time.
    public func render(liveSessions: Int64?, databaseBytes: Int64) -> String {
        self.liveSessions.set(Double(liveSessions ?? -1))
        self.databaseBytes.set(Double(databaseBytes))
        return registry.render()
    }
}
