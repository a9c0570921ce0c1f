import Model

// What goes into the sessionizer: tracked events in their total order, and what the store hands
// back about stored sessions (`EventHistory`).

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
