import SessionStore
import Synchronization

/// A fixed-bucket histogram in the Prometheus sense (cumulative `le` buckets, sum, count).
public struct Histogram: Sendable {
    public let bounds: [Double]
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(bounds: [Double]) {
        self.bounds = bounds
        counts = [UInt64](repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double, times: UInt64 = 1) {
        for (i, bound) in bounds.enumerated() where value <= bound { counts[i] &+= times }
        sum += value * Double(times)
        count &+= times
    }

    /// The smallest bucket bound holding at least `q` of the observations (an upper estimate).
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = UInt64((q * Double(count)).rounded(.up))
        for (i, c) in counts.enumerated() where c >= rank { return bounds[i] }
        return .infinity
    }

    static let seconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
}

/// sessiond's metrics, updated from every thread, rendered as Prometheus text on `/metrics`.
public final class SessiondMetrics: Sendable {
    struct State {
        var batches: [String: UInt64] = ["committed": 0, "duplicate": 0, "rejected": 0]
        var eventsNew: UInt64 = 0
        var eventsDuplicate: UInt64 = 0
        var eventsDropped: UInt64 = 0
        var commit = Histogram(bounds: Histogram.seconds)
        var freshness = Histogram(bounds: Histogram.seconds)
        var queries: [String: Histogram] = [:]
        var queryStatus: [String: UInt64] = [:]
        var wireConnections: Int64 = 0
        var wireErrors: UInt64 = 0
        var wireRefused: UInt64 = 0
        var queueDepth: Int64 = 0
        var sessionsCompleted: UInt64 = 0
        var erasures: UInt64 = 0
        var commitFailures: UInt64 = 0
        var walTruncations: [Bool: UInt64] = [true: 0, false: 0]
    }

    private let state = Mutex(State())

    public init() {}

    public func batch(_ outcome: String, new: Int, duplicate: Int, dropped: Int, commitSeconds: Double) {
        state.withLock {
            $0.batches[outcome, default: 0] &+= 1
            $0.eventsNew &+= UInt64(max(0, new))
            $0.eventsDuplicate &+= UInt64(max(0, duplicate))
            $0.eventsDropped &+= UInt64(max(0, dropped))
            if outcome == "committed" { $0.commit.observe(commitSeconds) }
        }
    }

    /// Seconds from the collector's `receivedAt` to our commit, for `events` events.
    public func freshness(_ seconds: Double, events: Int) {
        state.withLock { $0.freshness.observe(max(0, seconds), times: UInt64(max(0, events))) }
    }

    public func query(_ route: Route, status: Int, seconds: Double) {
        state.withLock {
            $0.queries[route.metricLabel, default: Histogram(bounds: Histogram.seconds)].observe(seconds)
            $0.queryStatus["\(route.metricLabel)|\(status)", default: 0] &+= 1
        }
    }

    public func wireConnection(opened: Bool) { state.withLock { $0.wireConnections &+= opened ? 1 : -1 } }
    public func wireError() { state.withLock { $0.wireErrors &+= 1 } }
    public func wireRefused() { state.withLock { $0.wireRefused &+= 1 } }
    public func queue(depth: Int) { state.withLock { $0.queueDepth = Int64(depth) } }
    public func completed(_ n: Int) { state.withLock { $0.sessionsCompleted &+= UInt64(max(0, n)) } }
    public func erased() { state.withLock { $0.erasures &+= 1 } }
    public func commitFailed() { state.withLock { $0.commitFailures &+= 1 } }
    public func walTruncation(succeeded: Bool) { state.withLock { $0.walTruncations[succeeded, default: 0] &+= 1 } }

    public var freshnessP99: Double? { state.withLock { $0.freshness.quantile(0.99) } }
    public var commitP99: Double? { state.withLock { $0.commit.quantile(0.99) } }

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
        let liveSessions = gauges.liveSessions
        let databaseBytes = gauges.databaseBytes
        let s = state.withLock { $0 }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func histogram(_ name: String, _ h: Histogram, labels: String = "") {
            let sep = labels.isEmpty ? "" : ","
            for (bound, c) in zip(h.bounds, h.counts) {
                out += "\(name)_bucket{\(labels)\(sep)le=\"\(bound)\"} \(c)\n"
            }
            out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n"
            out += "\(name)_sum\(labels.isEmpty ? "" : "{\(labels)}") \(h.sum)\n"
            out += "\(name)_count\(labels.isEmpty ? "" : "{\(labels)}") \(h.count)\n"
        }
        header("clickpath_sessiond_batches_total", "counter", "Wire batches by outcome (committed, duplicate, rejected).")
        for (outcome, n) in s.batches.sorted(by: { $0.key < $1.key }) {
            out += "clickpath_sessiond_batches_total{outcome=\"\(outcome)\"} \(n)\n"
        }
        header("clickpath_sessiond_events_total", "counter", "Events in committed batches: new, duplicate (already stored), dropped (erased user or visitor).")
        out += "clickpath_sessiond_events_total{kind=\"new\"} \(s.eventsNew)\n"
        out += "clickpath_sessiond_events_total{kind=\"duplicate\"} \(s.eventsDuplicate)\n"
        out += "clickpath_sessiond_events_total{kind=\"dropped\"} \(s.eventsDropped)\n"
        header("clickpath_sessiond_commit_seconds", "histogram", "Time to apply and commit one batch.")
        histogram("clickpath_sessiond_commit_seconds", s.commit)
        header("clickpath_sessiond_freshness_seconds", "histogram", "From the collector's receipt of an event to its commit here.")
        histogram("clickpath_sessiond_freshness_seconds", s.freshness)
        header("clickpath_sessiond_query_seconds", "histogram", "Query API latency by route.")
        for (label, h) in s.queries.sorted(by: { $0.key < $1.key }) {
            histogram("clickpath_sessiond_query_seconds", h, labels: "route=\"\(label)\"")
        }
        header("clickpath_sessiond_query_responses_total", "counter", "Query API answers by route and status.")
        for (key, n) in s.queryStatus.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|")
            out += "clickpath_sessiond_query_responses_total{route=\"\(parts.first ?? "")\",status=\"\(parts.last ?? "")\"} \(n)\n"
        }
        header("clickpath_sessiond_live_sessions", "gauge", "Sessions still live.")
        out += "clickpath_sessiond_live_sessions \(liveSessions ?? -1)\n"
        header("clickpath_sessiond_sessions_completed_total", "counter", "Sessions completed by the watermark (their timeout passed).")
        out += "clickpath_sessiond_sessions_completed_total \(s.sessionsCompleted)\n"
        header("clickpath_sessiond_database_bytes", "gauge", "Size of the SQLite database plus its WAL.")
        out += "clickpath_sessiond_database_bytes \(databaseBytes)\n"
        header("clickpath_sessiond_wal_bytes", "gauge", "Size of the SQLite WAL file; kept below clickpath_sessiond_wal_limit_bytes.")
        out += "clickpath_sessiond_wal_bytes \(gauges.walBytes)\n"
        header("clickpath_sessiond_wal_limit_bytes", "gauge", "The WAL bound (--wal-limit): past half of it the writer truncates the WAL between commits.")
        out += "clickpath_sessiond_wal_limit_bytes \(gauges.walLimitBytes)\n"
        header("clickpath_sessiond_wal_truncations_total", "counter", "TRUNCATE checkpoints the writer took to bound the WAL, by outcome (busy: a query still read the WAL).")
        out += "clickpath_sessiond_wal_truncations_total{outcome=\"truncated\"} \(s.walTruncations[true] ?? 0)\n"
        out += "clickpath_sessiond_wal_truncations_total{outcome=\"busy\"} \(s.walTruncations[false] ?? 0)\n"
        header("clickpath_sessiond_commit_failures_total", "counter", "Commits that failed (a batch or a watermark step), e.g. a full disk (SQLITE_FULL).")
        out += "clickpath_sessiond_commit_failures_total \(s.commitFailures)\n"
        header("clickpath_sessiond_store_writable", "gauge", "1 when the last commit succeeded, 0 while commits fail (/readyz answers 503).")
        out += "clickpath_sessiond_store_writable \(gauges.writable ? 1 : 0)\n"
        header("clickpath_sessiond_wire_connections", "gauge", "Open Wire connections.")
        out += "clickpath_sessiond_wire_connections \(s.wireConnections)\n"
        header("clickpath_sessiond_wire_errors_total", "counter", "Wire connections closed for a protocol or I/O error.")
        out += "clickpath_sessiond_wire_errors_total \(s.wireErrors)\n"
        header("clickpath_sessiond_wire_refused_total", "counter", "Wire connections closed at once because --max-wire-connections were open.")
        out += "clickpath_sessiond_wire_refused_total \(s.wireRefused)\n"
        header("clickpath_sessiond_ingest_queue_batches", "gauge", "Batches waiting for the writer.")
        out += "clickpath_sessiond_ingest_queue_batches \(s.queueDepth)\n"
        header("clickpath_sessiond_erasures_total", "counter", "Erasure requests carried out.")
        out += "clickpath_sessiond_erasures_total \(s.erasures)\n"
        return out
    }
}
