import Model
import Config
import Sessionizer
import SessionStore
import Wire

/// An answer of the query API, ready for the HTTP layer.
public struct QueryResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ body: [UInt8], status: Int = 200) -> QueryResponse {
        QueryResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    public static func error(_ e: APIError, location: String? = nil) -> QueryResponse {
        var r = QueryResponse.json(e.body, status: e.status)
        if let location { r.headers.append(("Location", location)) }
        return r
    }
}

/// Runs the read routes of the query API on one reader connection. Not thread-safe: each reader
/// thread owns one `QueryService`.
public final class QueryService {
    public let connection: Connection
    private let pins: SortPins
    private var apdexRules: [Int64: ApdexRule] = [:]

    /// Opens a read-only connection to the store at `path`. The writer must have installed `pins`.
    public init(path: String, pins: SortPins) throws(StoreError) {
        connection = try Database.openReader(path: path)
        self.pins = pins
    }

    /// Answers one read route. `now` is server time (epoch ms); `deadline` limits every statement
    /// the route runs (past it the answer is 503).
    public func handle(_ match: RouteMatch, query: some Collection<UInt8>, path: String, now: Int64,
                       deadline: QueryDeadline?) -> QueryResponse {
        connection.setDeadline(deadline)
        defer { connection.setDeadline(nil) }
        do {
            let parameters = try QueryString.parse(query)
            return try answer(match, parameters, rawQuery: query, path: path, now: now)
        } catch let error as APIError {
            if error.code == .merged, let target = error.mergedInto {
                return .error(error, location: redirect(path: path, query: query, to: target))
            }
            return .error(error)
        } catch let error as StoreError {
            if case .sqlite(let code, _, _) = error, code & 0xff == Connection.interruptedCode {
                return .error(APIError(status: 503, code: .timeout,
                                       message: "the query ran past its time limit; narrow the filters or the time range"))
            }
            return .error(APIError(status: 500, code: .internal, message: "reading the store failed: \(error)"))
        } catch {
            return .error(APIError(status: 500, code: .internal, message: "\(error)"))
        }
    }

    private func answer(_ match: RouteMatch, _ parameters: [(String, String)], rawQuery: some Collection<UInt8>,
                        path: String, now: Int64) throws -> QueryResponse {
        let p = match.parameters
        switch match.route {
        case .listSessions:
            return .json(try list(SessionQuery.parse(parameters, now: now)))
        case .listUserSessions:
            let scope = SessionFilter.text(.user, [.exact(p["userTag"] ?? "")], negated: false)
            return .json(try list(SessionQuery.parse(parameters, now: now, scope: [scope])))
        case .listVisitorSessions:
            let scope = SessionFilter.text(.visitor, [.exact(p["visitorId"] ?? "")], negated: false)
            return .json(try list(SessionQuery.parse(parameters, now: now, scope: [scope])))
        case .getSession:
            try noParameters(parameters)
            return .json(try session(p["sessionId"] ?? ""))
        case .getWaterfall:
            var eventId: String?
            for (name, value) in parameters {
                guard name == "event" else { throw FilterParser.unknown(name) }
                eventId = value
            }
            guard let eventId, !eventId.isEmpty else {
                throw APIError.badParameter("event", "event is required: the id of a view or action of the session")
            }
            return .json(try waterfall(p["sessionId"] ?? "", eventId: eventId))
        case .getError:
            try noParameters(parameters)
            return .json(try errorDetail(p["sessionId"] ?? "", eventId: p["eventId"] ?? ""))
        case .liveUsers, .activeUsers:
            let q = try UserCountQuery.parse(parameters, active: match.route == .activeUsers)
            let counts = try userCounts(apps: q.apps, activeSince: q.window.map { now &- $0 })
            return .json(ResponseBody.userCount(perApp: counts, asOf: now, window: q.window))
        case .stats:
            let q = try StatsQuery.parse(parameters, now: now)
            return .json(try stats(q).statsBody(top: q.top))
        case .statsPartial:
            if parameters.contains(where: { $0.0 == "top" }) { throw FilterParser.unknown("top") }
            let q = try StatsQuery.parse(parameters, now: now)
            return .json(try stats(q).partialBody)
        case .eraseUser, .eraseVisitor, .healthz, .readyz, .metrics:
            throw APIError(status: 500, code: .internal, message: "route \(match.route.rawValue) is not a read route")
        }
    }

    private func noParameters(_ parameters: [(String, String)]) throws(APIError) {
        if let (name, _) = parameters.first { throw FilterParser.unknown(name) }
    }

    // MARK: Lists

    /// One page. A first page runs in one read transaction with the choice of its stamp: the
    /// newest commit stamp it can see, so every later change has a later stamp.
    public func list(_ q: SessionQuery) throws -> [UInt8] {
        if q.asOf == nil { pins.activate() }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let asOf: Int64
        if let pinned = q.asOf {
            asOf = pinned
        } else {
            asOf = try connection.scalarInt("SELECT max(committed_at) FROM batch_ranges") ?? q.clock
        }
        struct Row {
            var row: SessionRow
            var vid: Int64
            var key: Int64
            var sid: Int64
        }
        let base = SessionRow.selectColumnCount
        var popular: Set<SessionSQL.TermLookup> = []
        for lookup in SessionSQL.termLookups(q.filters) where try isPopular(lookup) { popular.insert(lookup) }
        func read(_ part: SessionSQL.ListPart) throws -> [Row] {
            let generated = SessionSQL.list(q, asOf: asOf, columns: SessionRow.selectColumns, part: part,
                                            popular: { popular.contains($0) })
            var rows: [Row] = []
            try connection.withTransientStatement(generated.sql) { statement throws(StoreError) in
                try bind(generated.bindings, statement)
                while try statement.step() {
                    rows.append(Row(row: try SessionRow.decode(statement), vid: statement.int64(2),
                                    key: statement.int64(base + 1), sid: statement.int64(base)))
                }
            }
            return rows
        }
        var rows = q.sort == .start ? try read(.unchanged) + read(.changed)
                                    : try read(.unchangedCompleted) + read(.unchangedLive) + read(.changed)
        rows.sort { a, b in
            q.order == .desc ? (a.key, a.sid) > (b.key, b.sid) : (a.key, a.sid) < (b.key, b.sid)
        }
        let more = rows.count > q.limit
        let page = rows.prefix(q.limit)
        // The visitor's user tag, for the rows of this page only (anonymous sessions of a tagged
        // visitor show it too).
        var infos: [SessionInfo] = []
        for r in page {
            infos.append(Self.info(r.row, linkedTag: r.row.userTag == nil ? try linkedTag(vid: r.vid) : nil))
        }
        let last = page.last.map { (value: $0.key, sid: $0.sid) }
        let next = more ? last.map { q.cursor(asOf: asOf, afterValue: $0.value, id: String($0.sid)).encoded } : nil
        return ResponseBody.sessionList(infos, asOf: asOf, nextCursor: next)
    }

    /// Sessions holding a term beyond which walking the sort index and checking each row beats
    /// sorting every session that holds it.
    public var popularTermSessions: Int64 = 2000

    func isPopular(_ lookup: SessionSQL.TermLookup) throws -> Bool {
        let count = SessionSQL.termCount(lookup, cap: popularTermSessions)
        var n: Int64 = 0
        try connection.withTransientStatement(count.sql) { statement throws(StoreError) in
            try bind(count.bindings, statement)
            if try statement.step() { n = statement.int64(0) }
        }
        return n >= popularTermSessions
    }

    func linkedTag(vid: Int64) throws(StoreError) -> String? {
        let select = try connection.statement(
            "SELECT user_tag FROM user_links WHERE vid = ? ORDER BY linked_at DESC, user_tag LIMIT 1")
        defer { select.reset() }
        try select.bind(1, vid)
        return try select.step() ? select.text(0) : nil
    }

    // MARK: One session

    struct Found {
        var row: SessionRow
        var vid: Int64
        var linkedTag: String?
    }

    /// The session `id`; a retired id throws `merged` with the id that replaced it (followed
    /// through chains of merges).
    func find(_ id: String) throws -> Found {
        let sql = "SELECT \(SessionSQL.qualified(SessionRow.selectColumns)), \(SessionSQL.extraColumns) FROM sessions WHERE sessions.id = ?"
        var current = id
        for _ in 0..<16 {
            var found: Found?
            var mergedInto: String?
            try connection.withTransientStatement(sql) { statement throws(StoreError) in
                try statement.bind(1, current)
                guard try statement.step() else { return }
                let row = try SessionRow.decode(statement)
                if let target = row.mergedInto {
                    mergedInto = target
                } else {
                    found = Found(row: row, vid: statement.int64(2),
                                  linkedTag: statement.optionalText(SessionRow.selectColumnCount))
                }
            }
            if let found {
                if current != id { throw APIError.merged(id, into: current) }
                return found
            }
            guard let mergedInto else { throw APIError.notFound("no session '\(id)' on this server") }
            current = mergedInto
        }
        throw APIError.notFound("session '\(id)' was merged too many times to follow")
    }

    func events(_ found: Found) throws -> [Event] {
        try StoredHistory(connection: connection)
            .events(vid: found.vid, first: found.row.firstEvent, last: found.row.lastEvent)
            .map(\.event)
    }

    /// The Apdex rule of the rule set (config version) a session was computed with.
    func apdexRule(_ rulesID: Int64) throws -> ApdexRule {
        if let known = apdexRules[rulesID] { return known }
        let rule = ApdexRule(try SessionStore.ruleSet(rulesID, on: connection))
        apdexRules[rulesID] = rule
        return rule
    }

    public func session(_ id: String) throws -> [UInt8] {
        let found = try find(id)
        let timeline = TimelineNode.build(try events(found), rule: try apdexRule(found.row.rulesID))
        var next: String?
        let sql = """
            SELECT id FROM sessions WHERE vid = ? AND merged_into IS NULL
            AND (start_ts > ? OR (start_ts = ? AND first_event_id > ?)) ORDER BY start_ts, first_event_id LIMIT 1
            """
        try connection.withTransientStatement(sql) { statement throws(StoreError) in
            try statement.bind(1, found.vid)
            try statement.bind(2, found.row.start)
            try statement.bind(3, found.row.start)
            try statement.bind(4, found.row.firstEventID)
            if try statement.step() { next = statement.text(0) }
        }
        return ResponseBody.session(Self.info(found.row, linkedTag: found.linkedTag), nextSessionId: next,
                                    timeline: timeline)
    }

    public func waterfall(_ id: String, eventId: String) throws -> [UInt8] {
        let found = try find(id)
        guard let w = try Waterfall.build(try events(found), eventId: eventId) else {
            throw APIError.notFound("session '\(id)' has no event '\(eventId)'")
        }
        return ResponseBody.waterfall(w, sessionId: found.row.id, sessionStart: found.row.start)
    }

    public func errorDetail(_ id: String, eventId: String) throws -> [UInt8] {
        let found = try find(id)
        guard let detail = ErrorDetail.find(try events(found), eventId: eventId) else {
            throw APIError.notFound("session '\(id)' has no error event '\(eventId)'")
        }
        return ResponseBody.error(detail, sessionId: found.row.id, sessionStart: found.row.start)
    }

    // MARK: Counts and stats

    public func userCounts(apps: [String], activeSince: Int64?) throws -> [String: Int64] {
        let generated = SessionSQL.userCounts(apps: apps, activeSince: activeSince)
        var counts: [String: Int64] = [:]
        for app in apps { counts[app] = 0 }
        try connection.withTransientStatement(generated.sql) { statement throws(StoreError) in
            try bind(generated.bindings, statement)
            while try statement.step() { counts[statement.text(0)] = statement.int64(1) }
        }
        return counts
    }

    public func stats(_ q: StatsQuery) throws -> StatsPartial {
        var partial = StatsPartial(from: q.from, to: q.to, interval: q.interval)
        let sessions = SessionSQL.statsSessions(q)
        try connection.withTransientStatement(sessions.sql) { statement throws(StoreError) in
            try bind(sessions.bindings, statement)
            while try statement.step() {
                partial.add(start: statement.int64(0), duration: statement.int64(1),
                            experience: statement.optionalText(2), abnormal: statement.text(3) == "abnormal",
                            live: statement.int64(4) != 0, endReason: statement.optionalText(5),
                            entryPage: statement.optionalText(6), exitPage: statement.optionalText(7))
            }
        }
        let errors = SessionSQL.statsErrors(q)
        try connection.withTransientStatement(errors.sql) { statement throws(StoreError) in
            try bind(errors.bindings, statement)
            while try statement.step() {
                let e = try StoredHistory.decodeEvent(statement, idColumn: 0)
                partial.addErrors(message: e.message ?? e.name ?? "(no message)")
            }
        }
        let orphans = SessionSQL.statsOrphanHeartbeats(q)
        try connection.withTransientStatement(orphans.sql) { statement throws(StoreError) in
            try bind(orphans.bindings, statement)
            if try statement.step() { partial.orphanHeartbeats = statement.int64(0) }
        }
        return partial
    }

    // MARK: Helpers

    private func bind(_ values: [SQLValue], _ statement: Statement) throws(StoreError) {
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case .int(let n): try statement.bind(index, n)
            case .text(let s): try statement.bind(index, s)
            }
        }
    }

    /// The same request with the session id replaced by the one it was merged into.
    private func redirect(path: String, query: some Collection<UInt8>, to target: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 3 { parts[3] = Self.percentEncode(target) }
        let q = String(decoding: Array(query), as: UTF8.self)
        return parts.joined(separator: "/") + (q.isEmpty ? "" : "?" + q)
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// The API view of a stored row. `linkedTag` is the visitor's latest user tag, shown for the
    /// visitor's anonymous sessions too.
    public static func info(_ row: SessionRow, linkedTag: String?) -> SessionInfo {
        var counts = SessionCounts()
        counts.events = Int64(row.eventCount)
        counts.views = Int64(row.views)
        counts.actions = Int64(row.actions)
        counts.requests = Int64(row.requests)
        counts.resources = Int64(row.resources)
        counts.errors = Int64(row.errors)
        counts.failedRequests = Int64(row.failedRequests)
        counts.failedResources = Int64(row.failedResources)
        counts.heartbeats = Int64(row.heartbeats)
        let reasons = HealthCounts(crashes: Int64(row.crashes), errors: Int64(row.errors),
                                   failedRequests: Int64(row.failedRequests),
                                   failedResources: Int64(row.failedResources),
                                   frustratedActions: Int64(row.frustratedActions))
        return SessionInfo(id: row.id, app: row.app, platform: row.platform, visitor: row.visitor,
                           user: row.userTag ?? linkedTag, clientSession: row.clientSession,
                           device: row.device ?? Device(), startedAt: row.start, endedAt: row.end, live: row.live,
                           endReason: row.endReason, experience: row.experience, abnormal: row.health == "abnormal",
                           healthReasons: reasons, counts: counts, entryPage: row.entryPage, exitPage: row.exitPage,
                           revision: row.revision, previousSessionId: row.previousID, continued: row.continued)
    }
}
