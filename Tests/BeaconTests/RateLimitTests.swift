import Model
import Testing
@testable import Beacon

@Suite struct RateLimitTests {
    @Test func burstThenRefusedWithRetryAfter() {
        var bucket = TokenBucket(ratePerSecond: 2, burst: 3, now: 0)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: 0) == .limited(retryAfterSeconds: 1))
        #expect(bucket.take(now: 499) == .limited(retryAfterSeconds: 1))
        #expect(bucket.take(now: 500) == .allowed)          // 0.5 s at 2/s = one token
        #expect(bucket.take(now: 500) == .limited(retryAfterSeconds: 1))
    }

    @Test func retryAfterRoundsUpForSlowRates() {
        var bucket = TokenBucket(ratePerSecond: 0.1, burst: 1, now: 0)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: 0) == .limited(retryAfterSeconds: 10))
        #expect(bucket.take(now: 2500) == .limited(retryAfterSeconds: 8))
        #expect(bucket.take(now: 10_000) == .allowed)
    }

    @Test func refillNeverExceedsBurst() {
        var bucket = TokenBucket(ratePerSecond: 100, burst: 5, now: 0)
        for _ in 0..<5 { #expect(bucket.take(now: 0) == .allowed) }
        let later: Int64 = 1_000_000_000
        for _ in 0..<5 { #expect(bucket.take(now: later) == .allowed) }
        #expect(bucket.take(now: later) == .limited(retryAfterSeconds: 1))
    }

    @Test func clockGoingBackwardsAddsNothing() {
        var bucket = TokenBucket(ratePerSecond: 1, burst: 1, now: 10_000)
        #expect(bucket.take(now: 10_000) == .allowed)
        #expect(bucket.take(now: 0) == .limited(retryAfterSeconds: 1))
        #expect(bucket.take(now: 10_999) == .limited(retryAfterSeconds: 1))
        #expect(bucket.take(now: 11_000) == .allowed)
    }

    @Test func zeroRateRefusesAfterTheBurst() {
        var bucket = TokenBucket(ratePerSecond: 0, burst: 1, now: 0)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: Int64.max) == .limited(retryAfterSeconds: 3600))
        var odd = TokenBucket(ratePerSecond: .nan, burst: .infinity, now: 0)
        #expect(odd.take(now: 0) == .allowed)
        #expect(odd.take(now: 0) == .limited(retryAfterSeconds: 3600))
    }

    @Test func appsHaveTheirOwnBuckets() {
        var limiter = RateLimiter()
        let limit = RateLimiter.Limit(ratePerSecond: 1, burst: 1)
        #expect(limiter.take(app: "a", limit: limit, now: 0) == .allowed)
        #expect(limiter.take(app: "a", limit: limit, now: 0) == .limited(retryAfterSeconds: 1))
        #expect(limiter.take(app: "b", limit: limit, now: 0) == .allowed)
        #expect(limiter.take(app: "c", limit: nil, now: 0) == .allowed)
        #expect(limiter.take(app: "c", limit: nil, now: 0) == .allowed)
        #expect(limiter.appCount == 2)
        // A reloaded config with a new limit starts a fresh bucket.
        #expect(limiter.take(app: "a", limit: .init(ratePerSecond: 5, burst: 5), now: 0) == .allowed)
    }

    @Test func costCountsEventsAndIsCappedAtTheBurst() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 20, now: 0)
        #expect(bucket.take(cost: 15, now: 0) == .allowed)
        #expect(bucket.take(cost: 10, now: 0) == .limited(retryAfterSeconds: 1))   // 5 left, 5 more in 0.5 s
        #expect(bucket.take(cost: 10, now: 500) == .allowed)
        #expect(bucket.take(cost: 500, now: 2_000) == .limited(retryAfterSeconds: 1))   // 15 of 20 back
        #expect(bucket.take(cost: 500, now: 2_500) == .allowed)                 // charged as the burst of 20
        #expect(bucket.take(cost: 500, now: 2_500) == .limited(retryAfterSeconds: 2))
    }
}
