import SessionStore

/// Session durations in fixed buckets shared by every shard, so histograms merge by adding counts.
/// Bucket 0 holds durations below 100 ms; bucket i (1...80) holds [100·2^((i-1)/4), 100·2^(i/4)) ms;
/// bucket 81 everything from 100·2^20 ms (about 29 h) on.
public struct DurationHistogram: Sendable, Hashable {
    public static let bucketCount = 82

    /// Lower bounds in ms of buckets 1...81 (index 0 is bucket 1).
    public static let lowerBounds: [Int64] = {
        // 2^(k/4) for k = 0..3, exact enough that neighbouring bounds never collide.
        let quarter: [Double] = [1, 1.189_207_115_002_721, 1.414_213_562_373_095, 1.681_792_830_507_429]
        return (0..<(bucketCount - 1)).map { k in
            Int64((100 * Double(1 << (k / 4)) * quarter[k % 4]).rounded())
        }
    }()

    public private(set) var counts: [Int64]

    public init() {
        counts = [Int64](repeating: 0, count: Self.bucketCount)
    }

    /// Restores a histogram from its counts (a shard's partial); nil when the length is wrong.
    public init?(counts: [Int64]) {
        guard counts.count == Self.bucketCount, counts.allSatisfy({ $0 >= 0 }) else { return nil }
        self.counts = counts
    }

    public static func bucket(for duration: Int64) -> Int {
        var lo = 0
        var hi = lowerBounds.count
        // The number of lower bounds <= duration is the bucket index.
        while lo < hi {
            let mid = (lo + hi) / 2
            if lowerBounds[mid] <= duration { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public mutating func add(_ duration: Int64, count: Int64 = 1) {
        counts[Self.bucket(for: duration)] &+= count
    }

    public mutating func merge(_ other: DurationHistogram) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
    }

    public var total: Int64 { counts.reduce(0, &+) }

    /// The q-quantile (0 < q <= 1) estimated as the geometric middle of its bucket, within 10 % of
    /// the exact value for durations from 100 ms to 29 h; nil when empty.
    public func quantile(_ q: Double) -> Int64? {
        let n = total
        guard n > 0 else { return nil }
        let rank = max(1, Int64((q * Double(n)).rounded(.up)))
        var seen: Int64 = 0
        for (i, c) in counts.enumerated() {
            seen &+= c
            guard seen >= rank else { continue }
            if i == 0 { return 50 }
            let lo = Double(Self.lowerBounds[i - 1])
            guard i < Self.lowerBounds.count else { return Int64(lo) }
            let hi = Double(Self.lowerBounds[i])
            return Int64((lo * hi).squareRoot().rounded())
        }
        return nil
    }
}

/// Per-interval counters of one series bucket.
public struct SeriesBucket: Sendable, Hashable {
    public var sessions: Int64 = 0
    public var abnormal: Int64 = 0
    public var frustrated: Int64 = 0

    public init(sessions: Int64 = 0, abnormal: Int64 = 0, frustrated: Int64 = 0) {
        self.sessions = sessions
        self.abnormal = abnormal
        self.frustrated = frustrated
    }
}

/// The mergeable parts of `/v1/stats` over sessions that started in [from, to): counts,
/// fixed-bucket histograms and per-key counts. Partials of several shards with the same range and
/// interval merge exactly by `merge`.
public struct StatsPartial: Sendable, Hashable {
    public var from: Int64
    public var to: Int64
    public var interval: Int64
    public var sessions: Int64 = 0
    /// Keyed by bucket start: a multiple of `interval` since the epoch.
    public var series: [Int64: SeriesBucket] = [:]
    public var experience: [String: Int64] = [:]
    public var health: [String: Int64] = [:]
    public var endReasons: [String: Int64] = [:]
    public var duration = DurationHistogram()
    public var entryPages: [String: Int64] = [:]
    public var exitPages: [String: Int64] = [:]
    /// Error events per message.
    public var errors: [String: Int64] = [:]
    /// Stored heartbeats in [from, to) that belong to no session (BRIEF: stored and counted, never
    /// a session), of the apps the `app` filter selects; other filters describe sessions and do
    /// not apply to them.
    public var orphanHeartbeats: Int64 = 0

    public init(from: Int64, to: Int64, interval: Int64) {
        self.from = from
        self.to = to
        self.interval = interval
    }

    /// The epoch-aligned start of the bucket holding `time`.
    public func bucketStart(_ time: Int64) -> Int64 {
        let r = time % interval
        return time - (r < 0 ? r + interval : r)
    }

    /// Adds one session.
    public mutating func add(_ s: SessionInfo) {
        add(start: s.startedAt, duration: s.duration, experience: s.experience, abnormal: s.abnormal, live: s.live,
            endReason: s.endReason, entryPage: s.entryPage, exitPage: s.exitPage)
    }

    /// Adds one session from its stored fields.
    public mutating func add(start: Int64, duration ms: Int64, experience rating: String?, abnormal: Bool, live: Bool,
                             endReason: String?, entryPage: String?, exitPage: String?) {
        sessions &+= 1
        var bucket = series[bucketStart(start)] ?? SeriesBucket()
        bucket.sessions &+= 1
        if abnormal { bucket.abnormal &+= 1 }
        if rating == "frustrated" { bucket.frustrated &+= 1 }
        series[bucketStart(start)] = bucket
        experience[rating ?? "none", default: 0] &+= 1
        health[abnormal ? "abnormal" : "tolerable", default: 0] &+= 1
        endReasons[live ? "live" : (endReason ?? "unknown"), default: 0] &+= 1
        duration.add(ms)
        if let p = entryPage { entryPages[p, default: 0] &+= 1 }
        if let p = exitPage { exitPages[p, default: 0] &+= 1 }
    }

    /// Adds `count` error events with this message.
    public mutating func addErrors(message: String, count: Int64 = 1) {
        errors[message, default: 0] &+= count
    }

    public enum MergeError: Error, Equatable {
        case differentRange
    }

    /// Adds another shard's partial; both must cover the same range with the same interval.
    public mutating func merge(_ other: StatsPartial) throws(MergeError) {
        guard from == other.from, to == other.to, interval == other.interval else { throw .differentRange }
        sessions &+= other.sessions
        for (k, b) in other.series {
            var mine = series[k] ?? SeriesBucket()
            mine.sessions &+= b.sessions
            mine.abnormal &+= b.abnormal
            mine.frustrated &+= b.frustrated
            series[k] = mine
        }
        func add(_ a: inout [String: Int64], _ b: [String: Int64]) { for (k, v) in b { a[k, default: 0] &+= v } }
        add(&experience, other.experience)
        add(&health, other.health)
        add(&endReasons, other.endReasons)
        add(&entryPages, other.entryPages)
        add(&exitPages, other.exitPages)
        add(&errors, other.errors)
        duration.merge(other.duration)
        orphanHeartbeats &+= other.orphanHeartbeats
    }

    /// The most frequent keys, ties broken by key so every shard layout gives the same list.
    public static func top(_ counts: [String: Int64], _ n: Int) -> [(key: String, count: Int64)] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(n).map { (key: $0.key, count: $0.value) }
    }

    /// `/v1/stats`: the finished answer, every bucket of the range listed (zeros included).
    public func statsBody(top n: Int) -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.field("from", from)
        w.field("to", to)
        w.field("interval", interval)
        w.field("sessions", sessions)
        w.field("orphanHeartbeats", orphanHeartbeats)
        w.key("series")
        w.beginArray()
        var start = bucketStart(from)
        while start < to {
            let b = series[start] ?? SeriesBucket()
            w.beginObject()
            w.field("start", start)
            w.field("sessions", b.sessions)
            w.field("abnormal", b.abnormal)
            w.field("frustrated", b.frustrated)
            w.endObject()
            let (next, overflow) = start.addingReportingOverflow(interval)
            if overflow { break }
            start = next
        }
        w.endArray()
        w.key("experience")
        w.beginObject()
        for k in ["satisfied", "tolerating", "frustrated", "none"] { w.field(k, experience[k] ?? 0) }
        w.endObject()
        w.key("health")
        w.beginObject()
        for k in ["tolerable", "abnormal"] { w.field(k, health[k] ?? 0) }
        w.endObject()
        writeMap(&w, "endReasons", endReasons)
        w.key("duration")
        w.beginObject()
        w.field("median", duration.quantile(0.5))
        w.field("p90", duration.quantile(0.9))
        w.endObject()
        for (name, map) in [("topEntryPages", entryPages), ("topExitPages", exitPages), ("topErrors", errors)] {
            w.key(name)
            w.beginArray()
            for (k, c) in Self.top(map, n) {
                w.beginObject()
                w.field("key", k)
                w.field("count", c)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    /// `/v1/stats/partial`: every mergeable part, for a multi-shard router.
    public var partialBody: [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.field("version", 1)
        w.field("from", from)
        w.field("to", to)
        w.field("interval", interval)
        w.field("sessions", sessions)
        w.field("orphanHeartbeats", orphanHeartbeats)
        w.key("series")
        w.beginObject()
        for (k, b) in series.sorted(by: { $0.key < $1.key }) {
            w.key(String(k))
            w.beginArray()
            w.value(b.sessions)
            w.value(b.abnormal)
            w.value(b.frustrated)
            w.endArray()
        }
        w.endObject()
        writeMap(&w, "experience", experience)
        writeMap(&w, "health", health)
        writeMap(&w, "endReasons", endReasons)
        w.key("durationHistogram")
        w.beginArray()
        for c in duration.counts { w.value(c) }
        w.endArray()
        writeMap(&w, "entryPages", entryPages)
        writeMap(&w, "exitPages", exitPages)
        writeMap(&w, "errors", errors)
        w.endObject()
        return w.bytes
    }

    private func writeMap(_ w: inout JSONWriter, _ name: String, _ map: [String: Int64]) {
        w.key(name)
        w.beginObject()
        for (k, v) in map.sorted(by: { $0.key < $1.key }) { w.field(k, v) }
        w.endObject()
    }
}

/// A parsed `/v1/stats` (or `/v1/stats/partial`) request.
public struct StatsQuery: Sendable, Hashable {
    public var from: Int64
    public var to: Int64
    public var interval: Int64
    public var top: Int
    public var filters: [SessionFilter]

    public static let maxBuckets: Int64 = 2000

    public static func parse(_ parameters: [(String, String)], now: Int64) throws(APIError) -> StatsQuery {
        var single = SingleValues()
        var filters = FilterParser()
        for (name, value) in parameters {
            switch name {
            case "from", "to", "interval", "top":
                try single.set(name, value)
            default:
                guard try filters.add(name, value) else { throw FilterParser.unknown(name) }
            }
        }
        let (from, to) = try SessionQuery.resolveRange(single, now: now)
        let end = to ?? now
        let start = from ?? (end &- 86_400_000)
        if start >= end {
            throw APIError.badParameter("from", "from (\(start)) must be earlier than to (\(end))")
        }
        var interval: Int64 = 3_600_000
        if let text = single["interval"] {
            guard let d = TimeSyntax.duration(text[...]), d >= 1000 else {
                throw APIError.badParameter("interval", "interval must be a duration of at least 1s, like 5m or 1h; got '\(text)'")
            }
            interval = d
        }
        let buckets = (end - start) / interval + 2
        guard buckets <= maxBuckets else {
            throw APIError.badParameter("interval", "interval gives \(buckets) buckets over this range; at most \(maxBuckets) are allowed, choose a wider interval")
        }
        var top = 10
        if let text = single["top"] {
            guard let n = TimeSyntax.integer(text[...]), n >= 1, n <= 100 else {
                throw APIError.badParameter("top", "top must be an integer from 1 to 100; got '\(text)'")
            }
            top = Int(n)
        }
        return StatsQuery(from: start, to: end, interval: interval, top: top, filters: try filters.build(adding: []))
    }
}

/// A parsed `/v1/users/live` or `/v1/users/active` request.
public struct UserCountQuery: Sendable, Hashable {
    public var apps: [String]
    /// `/v1/users/active` only: the look-back window in ms.
    public var window: Int64?

    public static let maxWindow: Int64 = 86_400_000

    public static func parse(_ parameters: [(String, String)], active: Bool) throws(APIError) -> UserCountQuery {
        var query = UserCountQuery(apps: [], window: active ? 60_000 : nil)
        var single = SingleValues()
        for (name, value) in parameters {
            switch name {
            case "app":
                guard !value.isEmpty else { throw APIError.badParameter("app", "app must not be empty") }
                query.apps.append(value)
            case "window" where active:
                try single.set(name, value)
                guard let d = TimeSyntax.duration(value[...]), d >= 1000, d <= maxWindow else {
                    throw APIError.badParameter("window", "window must be a duration from 1s to 24h, like 60s or 5m; got '\(value)'")
                }
                query.window = d
            default:
                throw FilterParser.unknown(name)
            }
        }
        return query
    }
}
