import Model

// Public vocabulary of the sessionizer: what goes in (tracked events, stored sessions read back
// through `EventHistory`) and what comes out (session summaries and `VisitorUpdate` decisions).

/// Total order of a visitor's events: corrected `ts`, then event id (byte order).
/// Sessions are contiguous runs of this order.
public struct EventKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ts: Int64
    public var id: String

    public init(ts: Int64, id: String) {
        self.ts = ts
        self.id = id
    }

    public static func < (lhs: EventKey, rhs: EventKey) -> Bool {
        if lhs.ts != rhs.ts { return lhs.ts < rhs.ts }
        return lhs.id.compareBytes(rhs.id) < 0
    }

    /// Byte equality of ids, consistent with `<` and with the store's UNIQUE index.
    public static func == (lhs: EventKey, rhs: EventKey) -> Bool {
        lhs.ts == rhs.ts && lhs.id.sameBytes(rhs.id)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ts)
        id.hashBytes(into: &hasher)
    }

    public var description: String { "\(ts)/\(id)" }
}

/// One event with the beacon envelope fields the session rules need.
/// The store keeps these per event so `EventHistory` can hand them back unchanged.
public struct TrackedEvent: Sendable, Hashable {
    public var event: Event
    /// Client session id of the beacon (web: session cookie), if any.
    public var clientSession: String?
    /// User tag (login name) of the beacon, if any.
    public var user: String?
    /// Device fields of the beacon, if any (`appVersion` included).
    public var device: Device?

    public init(event: Event, clientSession: String? = nil, user: String? = nil, device: Device? = nil) {
        self.event = event
        self.clientSession = clientSession
        self.user = user
        self.device = device
    }

    public var key: EventKey { EventKey(ts: event.ts, id: event.id) }
}

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

/// What the sessionizer needs back from the store about a stored, not retired session.
public struct StoredSession: Sendable, Hashable {
    public var id: SessionID
    public var revision: Int
    public var firstEvent: EventKey
    public var lastEvent: EventKey
    public var previousSessionId: SessionID?
    public var continued: Bool
    public var live: Bool
    public var fingerprint: UInt64
    /// The stored end reason. Optional for the store; with it, a returning visitor's new visit
    /// does not read the previous visit's events back.
    public var endReason: EndReason?
    /// The session was made under another rule set than the one now in force. A completed one
    /// keeps the rules it was made with: events after it start a new session instead of
    /// recomputing it (only a late event that lands inside it recomputes it).
    public var madeUnderOtherRules: Bool

    public init(id: SessionID, revision: Int, firstEvent: EventKey, lastEvent: EventKey,
                previousSessionId: SessionID?, continued: Bool, live: Bool, fingerprint: UInt64,
                endReason: EndReason? = nil, madeUnderOtherRules: Bool = false) {
        self.id = id
        self.revision = revision
        self.firstEvent = firstEvent
        self.lastEvent = lastEvent
        self.previousSessionId = previousSessionId
        self.continued = continued
        self.live = live
        self.fingerprint = fingerprint
        self.endReason = endReason
        self.madeUnderOtherRules = madeUnderOtherRules
    }

    public init(_ record: SessionRecord) {
        self.init(id: record.id, revision: record.revision, firstEvent: record.summary.firstEvent,
                  lastEvent: record.summary.lastEvent, previousSessionId: record.previousSessionId,
                  continued: record.summary.continued, live: record.summary.live,
                  fingerprint: record.fingerprint, endReason: record.summary.endReason)
    }
}

/// Read access to what the store already holds for one visitor of one app. The sessionizer
/// calls it only on the slow path (late events, a visitor without live state, recovery).
public protocol EventHistory {
    /// The visitor's stored events with key >= `from`, in `EventKey` order, orphan heartbeats
    /// included. May already contain events of the batch being ingested (they are deduplicated
    /// by event id).
    func events(app: String, visitor: String, from: EventKey) throws -> [TrackedEvent]
    /// The visitor's stored, not retired sessions: the latest one whose `firstEvent <= from`
    /// (if any) followed by every one whose `firstEvent > from`, ordered by `firstEvent`.
    func sessions(app: String, visitor: String, from: EventKey) throws -> [StoredSession]
}

/// Every event of the visitor with a key in `from...to` belongs to `session`.
public struct Placement: Sendable, Hashable {
    public var session: SessionID
    public var from: EventKey
    public var to: EventKey

    public init(session: SessionID, from: EventKey, to: EventKey) {
        self.session = session
        self.from = from
        self.to = to
    }
}

/// A session id that no longer exists: its events now belong to `mergedInto`.
public struct Retirement: Sendable, Hashable {
    public var id: SessionID
    public var mergedInto: SessionID

    public init(id: SessionID, mergedInto: SessionID) {
        self.id = id
        self.mergedInto = mergedInto
    }
}

/// The decisions for one visitor of one app. The store applies them in one transaction, in
/// this order: `retired`, `upserts` (insert or replace by id), `placements`, `orphanHeartbeats`,
/// `userTags`.
public struct VisitorUpdate: Sendable, Hashable {
    public var app: String
    public var visitor: String
    /// Sessions created or changed, each with its new revision, ordered by `firstEvent`.
    public var upserts: [SessionRecord]
    /// Session ids retired by a merge; they answer with `mergedInto`.
    public var retired: [Retirement]
    /// Where events belong now (new events, and every event of a recomputed stretch).
    public var placements: [Placement]
    /// Heartbeats that belong to no session (stored and counted, never a session).
    public var orphanHeartbeats: [EventKey]
    /// User tags seen in the ingested events: link every session of the visitor to each.
    public var userTags: [String]

    public init(app: String, visitor: String, upserts: [SessionRecord] = [], retired: [Retirement] = [],
                placements: [Placement] = [], orphanHeartbeats: [EventKey] = [], userTags: [String] = []) {
        self.app = app
        self.visitor = visitor
        self.upserts = upserts
        self.retired = retired
        self.placements = placements
        self.orphanHeartbeats = orphanHeartbeats
        self.userTags = userTags
    }

    public var isEmpty: Bool {
        upserts.isEmpty && retired.isEmpty && placements.isEmpty && orphanHeartbeats.isEmpty && userTags.isEmpty
    }
}

/// Errors of the sessionizer: only the store's history can fail.
public enum SessionizerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Reading the visitor's stored events or sessions failed; nothing was changed.
    case history(app: String, visitor: String, message: String)

    public var description: String {
        switch self {
        case let .history(app, visitor, message):
            "reading stored events of visitor \(visitor) in app \(app) failed: \(message); the batch was not applied"
        }
    }
}
