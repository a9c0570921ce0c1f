/// A token bucket: `ratePerSecond` beacons per second on average, bursts up to `burst`.
/// Pure: the caller passes the clock (milliseconds, monotonic), so tests control time.
public struct TokenBucket: Sendable, Equatable {
    public let ratePerSecond: Double
    public let burst: Double
    public private(set) var tokens: Double
    public private(set) var lastRefill: Int64

    public init(ratePerSecond: Double, burst: Double, now: Int64) {
        self.ratePerSecond = max(0, ratePerSecond.isFinite ? ratePerSecond : 0)
        self.burst = max(1, burst.isFinite ? burst : 1)
        self.tokens = self.burst
        self.lastRefill = now
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused; `retryAfterSeconds` (≥ 1, for the `Retry-After` header) is when one token is back.
        case limited(retryAfterSeconds: Int)
    }

    /// Takes `cost` tokens (one per beacon, or one per event) if there are that many. A cost
    /// above the burst is charged as the burst, so a large beacon can pass on a full bucket.
    public mutating func take(cost: Int = 1, now: Int64) -> Decision {
        refill(now: now)
        let needed = min(burst, Double(max(1, cost)))
        if tokens >= needed {
            tokens -= needed
            return .allowed
        }
        guard ratePerSecond > 0 else { return .limited(retryAfterSeconds: 3600) }
        let seconds = ((needed - tokens) / ratePerSecond).rounded(.up)
        return .limited(retryAfterSeconds: max(1, Int(exactly: seconds) ?? 3600))
    }

    private mutating func refill(now: Int64) {
        // A clock that went backwards refills nothing; it never adds tokens.
        guard now > lastRefill else { return }
        let elapsed = Double(now &- lastRefill) / 1000
        tokens = min(burst, tokens + elapsed * ratePerSecond)
        lastRefill = now
    }
}

/// One token bucket per application. Owned by one event loop (not shared between threads):
/// with several loops each gets its share of the rate.
public struct RateLimiter: Sendable {
    public struct Limit: Sendable, Equatable {
        public var ratePerSecond: Double
        public var burst: Double
        public init(ratePerSecond: Double, burst: Double) {
            self.ratePerSecond = ratePerSecond
            self.burst = burst
        }
    }

    private var buckets: [String: TokenBucket] = [:]

    public init() {}

    /// `limit == nil` means the app is not limited.
    public mutating func take(app: String, limit: Limit?, cost: Int = 1, now: Int64) -> TokenBucket.Decision {
        guard let limit else { return .allowed }
        if var bucket = buckets[app], bucket.ratePerSecond == limit.ratePerSecond, bucket.burst == max(1, limit.burst) {
            let decision = bucket.take(cost: cost, now: now)
            buckets[app] = bucket
            return decision
        }
        // New app, or its limit changed with a config reload: start full.
        var bucket = TokenBucket(ratePerSecond: limit.ratePerSecond, burst: limit.burst, now: now)
        let decision = bucket.take(cost: cost, now: now)
        buckets[app] = bucket
        return decision
    }

    public var appCount: Int { buckets.count }
}
