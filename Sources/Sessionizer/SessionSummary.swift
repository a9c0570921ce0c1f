import Model

// What comes out for one session: its summary, its id, and the record the store keeps.

/// Everything the session rules compute for one session: a pure function of the session's
/// events, the rules and the watermark. Ids and revisions are not part of it.
public struct SessionSummary: Sendable, Hashable {
    public var platform: Platform
    public var visitor: String
    /// Last user tag seen in the session (event order), if any.
    public var user: String?
    /// First client session id seen in the session, if any.
    public var clientSession: String?
    /// First device seen in the session, if any.
    public var device: Device?
    public var appVersion: String? { device?.appVersion }

    /// First and last event of the session in `EventKey` order (heartbeats included). Every
    /// event of the visitor between them belongs to this session.
    public var firstEvent: EventKey
    public var lastEvent: EventKey
    /// `ts` of the first event.
    public var start: Int64
    /// End of the last event: max(ts + duration) over the session's events.
    public var end: Int64
    /// end - start: timeouts are not part of it.
    public var duration: Int64
    /// Sum of gaps between consecutive non-heartbeat events shorter than `activeGap`.
    public var activeTime: Int64

    public var eventCount: Int
    public var views: Int
    public var actions: Int
    public var requests: Int
    public var resources: Int
    /// Error events only.
    public var errors: Int
    /// Requests with status >= 400 or 0.
    public var failedRequests: Int
    /// Resources with status >= 400 or 0.
    public var failedResources: Int
    /// Fatal error events.
    public var crashes: Int
    public var heartbeats: Int

    public var entryPage: String?
    public var exitPage: String?
    /// Distinct pages in first-visit order, at most `SessionSummary.maxPagesVisited`.
    public var pagesVisited: [String]

    /// True while the session can still receive events (its timeout has not passed the watermark).
    public var live: Bool
    /// Set exactly when the session is completed.
    public var endReason: EndReason?
    /// The previous session of the visitor ended by max-duration or max-actions.
    public var continued: Bool

    /// Ratings of the actions, or of the views when the session has no action.
    public var ratings: RatingCounts
    /// The rating of the last rated action (or view), if any.
    public var lastRating: Experience?
    /// nil when there is nothing to rate.
    public var experience: Experience?
    public var healthReasons: HealthReasons
    public var health: Health { healthReasons.health }

    /// Bound of `pagesVisited`.
    public static let maxPagesVisited = 20
}

/// A 128-bit session id, unique across shards: the start of the session in ms, then 80 bits from
/// the injected generator.
public struct SessionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 32 lower-case hex digits.
    public init?(hex: String) {
        let bytes = Array(hex.utf8)
        guard bytes.count == 32 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            let nibble: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(byte &- UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(byte &- UInt8(ascii: "a") &+ 10)
            default: return nil
            }
            if index < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
        }
        self.init(high: high, low: low)
    }

    public var description: String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }

    public static func < (lhs: SessionID, rhs: SessionID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// A session as the store keeps it: identity, revision, links and the summary.
public struct SessionRecord: Sendable, Hashable {
    public var id: SessionID
    /// 1 when created; +1 on every change.
    public var revision: Int
    public var app: String
    /// The visitor's preceding session in the same app; nil for the first.
    public var previousSessionId: SessionID?
    public var summary: SessionSummary
    /// Digest of `previousSessionId` and `summary`: equal digests mean an unchanged session.
    /// The store keeps it and hands it back in `StoredSession`.
    public var fingerprint: UInt64

    public init(id: SessionID, revision: Int, app: String, previousSessionId: SessionID?,
                summary: SessionSummary) {
        self.id = id
        self.revision = revision
        self.app = app
        self.previousSessionId = previousSessionId
        self.summary = summary
        self.fingerprint = Fingerprint.of(previous: previousSessionId, summary: summary)
    }
}
