import Model
import Sessionizer
import Wire

/// Read access for queries, on its own read-only connection (one per query thread). WAL lets it
/// read a consistent snapshot while the writer commits; it never blocks the writer. Not
/// thread-safe: one owner thread (a reader of `SessionDatabase`'s pool). The query API's typed
/// queries run here (`SessionQueries.swift`).
public final class SessionReader {
    let connection: Connection
    /// Switched on by a first list page, so the writer records sort pins while someone pages.
    let pins: SortPins?
    /// Each rule set read so far (rule sets never change once stored).
    var ruleSets: [Int64: SessionRules] = [:]
    /// Sessions holding a term beyond which walking the sort index and checking each row beats
    /// sorting every session that holds it.
    public var popularTermSessions: Int64 = 2000

    /// `pins` are those the writer records (`SessionStore.recordSortPins`); nil for tools that
    /// never page.
    public init(path: String, busyTimeoutMilliseconds: Int = 5000, pins: SortPins? = nil) throws(StoreError) {
        connection = try Database.openReader(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        self.pins = pins
    }

    /// Runs `body` in one read transaction: every query inside sees the same snapshot.
    public func snapshot<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try body()
    }

    /// A session by id, retired ones included (their `mergedInto` names the session that holds
    /// their events now).
    public func session(id: String) throws(StoreError) -> SessionRow? {
        let select = try connection.statement("SELECT \(SessionRow.columns) FROM sessions WHERE id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        guard try select.step() else { return nil }
        return try SessionRow.read(select)
    }

    /// The session's events in timeline order (ts, then event id), with their envelope fields.
    public func events(of session: SessionRow) throws(StoreError) -> [TrackedEvent] {
        let select = try connection.statement("SELECT vid FROM sessions WHERE id = ?")
        try select.bind(1, session.id)
        let vid = try select.step() ? select.int64(0) : nil
        select.reset()
        guard let vid else { return [] }
        return try StoredHistory(connection: connection).events(vid: vid, from: session.firstEvent,
                                                                through: session.lastEvent)
    }

    /// One event of a visitor by id (an error with its stack, a view or action of a waterfall).
    public func event(app: String, visitor: String, id: String) throws(StoreError) -> TrackedEvent? {
        let select = try connection.statement("""
            SELECT e.event_id, e.ts, e.type, e.duration, e.body, e.env FROM events e
            JOIN visitors v ON v.vid = e.vid WHERE v.app = ? AND v.visitor = ? AND e.event_id = ?
            """)
        defer { select.reset() }
        try select.bind(1, app)
        try select.bind(2, visitor)
        try select.bind(3, id)
        guard try select.step() else { return nil }
        let event = try StoredHistory.readEvent(select, idColumn: 0)
        let envelope = try StoredHistory(connection: connection).envelope(select.int64(5))
        return TrackedEvent(event: event, clientSession: envelope.clientSession, user: envelope.user,
                            device: envelope.device)
    }

    /// Whether a user tag or visitor of `app` was erased (its tombstone exists).
    public func isErased(app: String, kind: SessionStore.ErasedKind, id: String) throws(StoreError) -> Bool {
        let select = try connection.statement("SELECT 1 FROM tombstones WHERE app = ? AND kind = ? AND id_hash = ?")
        defer { select.reset() }
        try select.bind(1, app)
        try select.bind(2, kind.rawValue)
        try select.bind(3, blob: SessionStore.digest(app: app, kind: kind, id: id))
        return try select.step()
    }
}
