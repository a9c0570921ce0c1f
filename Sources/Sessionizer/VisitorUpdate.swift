import Model

// What the sessionizer decides for one visitor (`VisitorUpdate`, applied by the store in one
// transaction) and its errors.

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
