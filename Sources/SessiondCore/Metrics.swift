import SessionStore
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
    private let walBytes: Gauge
    private let walLimitBytes: Gauge
    private let walTruncated: Counter
    private let walBusy: Counter
    private let commitFailures: Counter
    private let storeWritable: Gauge
    private let wireConnections: Gauge
    private let wireErrors: Counter
    private let wireRefusedCount: Counter
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
        walBytes = r.gauge("clickpath_sessiond_wal_bytes",
                           help: "Size of the SQLite WAL file; kept below clickpath_sessiond_wal_limit_bytes.")
        walLimitBytes = r.gauge("clickpath_sessiond_wal_limit_bytes",
                                help: "The WAL bound (--wal-limit): past half of it the writer truncates the WAL between commits.")
        let truncations = "TRUNCATE checkpoints the writer took to bound the WAL, by outcome (busy: a query still read the WAL)."
        walTruncated = r.counter("clickpath_sessiond_wal_truncations_total", help: truncations, labels: [("outcome", "truncated")])
        walBusy = r.counter("clickpath_sessiond_wal_truncations_total", help: truncations, labels: [("outcome", "busy")])
        commitFailures = r.counter("clickpath_sessiond_commit_failures_total",
                                   help: "Commits that failed (a batch or a watermark step), e.g. a full disk (SQLITE_FULL).")
        storeWritable = r.gauge("clickpath_sessiond_store_writable",
                                help: "1 when the last commit succeeded, 0 while commits fail (/readyz answers 503).")
        wireConnections = r.gauge("clickpath_sessiond_wire_connections", help: "Open Wire connections.")
        wireErrors = r.counter("clickpath_sessiond_wire_errors_total", help: "Wire connections closed for a protocol or I/O error.")
        wireRefusedCount = r.counter("clickpath_sessiond_wire_refused_total",
                                     help: "Wire connections closed at once because --max-wire-connections were open.")
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
    public func wireRefused() { wireRefusedCount.increment() }
    public func queue(depth: Int) { queueDepth.set(Double(depth)) }
    public func completed(_ n: Int) { sessionsCompleted.increment(by: UInt64(max(0, n))) }
    public func erased() { erasures.increment() }
    public func commitFailed() { commitFailures.increment() }
    public func walTruncation(succeeded: Bool) { (succeeded ? walTruncated : walBusy).increment() }

    public var freshnessP99: Double? { freshnessHistogram.quantile(0.99) }
    public var commitP99: Double? { commit.quantile(0.99) }

    /// What is read at scrape time rather than counted.
    public struct Gauges: Sendable {
        public var liveSessions: Int64?
        /// The database file plus its WAL.
        public var databaseBytes: Int64
        public var walBytes: Int64
        public var walLimitBytes: Int64
        /// Whether the last commit succeeded (`BatchWriter.isWritable`).
        public var writable: Bool

        public init(liveSessions: Int64?, databaseBytes: Int64, walBytes: Int64 = 0,
                    walLimitBytes: Int64 = StoreOptions.defaultWALLimitBytes, writable: Bool = true) {
            self.liveSessions = liveSessions
            self.databaseBytes = databaseBytes
            self.walBytes = walBytes
            self.walLimitBytes = walLimitBytes
            self.writable = writable
        }
    }

    /// Prometheus text format 0.0.4.
    public func render(_ gauges: Gauges) -> String {
        liveSessions.set(Double(gauges.liveSessions ?? -1))
        databaseBytes.set(Double(gauges.databaseBytes))
        walBytes.set(Double(gauges.walBytes))
        walLimitBytes.set(Double(gauges.walLimitBytes))
        storeWritable.set(gauges.writable ? 1 : 0)
        return registry.render()
    }
}
