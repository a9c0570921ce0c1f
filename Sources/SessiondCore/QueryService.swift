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

/// Runs the read routes of the query API on one `SessionReader` (a reader thread's): parses the
/// request into the store's typed queries, shapes the rows into answers. Not thread-safe: it
/// lives for one request on the reader's thread.
public final class QueryService {
    public let reader: SessionReader
    private var apdexRules: [Int64: ApdexRule] = [:]

    public init(reader: SessionReader) {
        self.reader = reader
    }

    /// Sessions holding a term beyond which walking the sort index and checking each row beats
    /// sorting every session that holds it (`SessionReader.popularTermSessions`).
    public var popularTermSessions: Int64 {
        get { reader.popularTermSessions }
        set { reader.popularTermSessions = newValue }
    }

    /// Answers one read route. `now` is server time (epoch ms); `deadline` limits every statement
    /// the route runs (past it the answer is 503).
    public func handle(_ match: RouteMatch, query: some Collection<UInt8>, path: String, now: Int64,
                       deadline: QueryDeadline?) -> QueryResponse {
        reader.setDeadline(deadline)
        defer { reader.setDeadline(nil) }
        do {
            let parameters = try QueryString.parse(query)
            return try answer(match, parameters, rawQuery: query, path: path, now: now)
        } catch let error as APIError {
            if error.code == .merged, let target = error.mergedInto {
                return .error(error, location: redirect(path: path, query: query, to: target))
            }
            return .error(error)
        } catch let error as StoreError {
            if error.isInterrupted {
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

    /// One page (`SessionReader.sessions`: a first page is pinned to the newest commit stamp it
    /// can see), with the cursor of the next page when there is one.
    public func list(_ q: SessionQuery) throws -> [UInt8] {
        let page = try reader.sessions(q.listQuery)
        let infos = page.sessions.map { Self.info($0.row, linkedTag: $0.linkedTag) }
        let last = page.sessions.last.map { (value: $0.sortValue, sid: $0.sid) }
        let next = page.hasMore ? last.map { q.cursor(asOf: page.asOf, afterValue: $0.value, id: String($0.sid)).encoded } : nil
        return ResponseBody.sessionList(infos, asOf: page.asOf, nextCursor: next)
    }

    // MARK: One session

    /// The session `id`; a retired id throws `merged` with the id that replaced it (followed
    /// through chains of merges).
    func find(_ id: String) throws -> QueriedSession {
        var current = id
        for _ in 0..<16 {
            guard let found = try reader.querySession(id: current) else {
                throw APIError.notFound("no session '\(id)' on this server")
            }
            guard let mergedInto = found.row.mergedInto else {
                if current != id { throw APIError.merged(id, into: current) }
                return found
            }
            current = mergedInto
        }
        throw APIError.notFound("session '\(id)' was merged too many times to follow")
    }

    /// The Apdex rule of the rule set (config version) a session was computed with.
    func apdexRule(_ rulesID: Int64) throws -> ApdexRule {
        if let known = apdexRules[rulesID] { return known }
        let rule = ApdexRule(try reader.ruleSet(rulesID))
        apdexRules[rulesID] = rule
        return rule
    }

    public func session(_ id: String) throws -> [UInt8] {
        let found = try find(id)
        let timeline = TimelineNode.build(try reader.events(of: found), rule: try apdexRule(found.row.rulesID))
        let next = try reader.nextSessionID(after: found)
        return ResponseBody.session(Self.info(found.row, linkedTag: found.linkedTag), nextSessionId: next,
                                    timeline: timeline)
    }

    public func waterfall(_ id: String, eventId: String) throws -> [UInt8] {
        let found = try find(id)
        guard let w = try Waterfall.build(try reader.events(of: found), eventId: eventId) else {
            throw APIError.notFound("session '\(id)' has no event '\(eventId)'")
        }
        return ResponseBody.waterfall(w, sessionId: found.row.id, sessionStart: found.row.start)
    }

    public func errorDetail(_ id: String, eventId: String) throws -> [UInt8] {
        let found = try find(id)
        guard let detail = ErrorDetail.find(try reader.events(of: found), eventId: eventId) else {
            throw APIError.notFound("session '\(id)' has no error event '\(eventId)'")
        }
        return ResponseBody.error(detail, sessionId: found.row.id, sessionStart: found.row.start)
    }

    // MARK: Counts and stats

    public func userCounts(apps: [String], activeSince: Int64?) throws -> [String: Int64] {
        try reader.userCounts(apps: apps, activeSince: activeSince)
    }

    public func stats(_ q: StatsQuery) throws -> StatsPartial {
        var partial = StatsPartial(from: q.from, to: q.to, interval: q.interval)
        let selection = SessionStatsQuery(from: q.from, to: q.to, filters: q.filters)
        try reader.statsSessions(selection) { s in
            partial.add(start: s.start, duration: s.duration, experience: s.experience, abnormal: s.health == "abnormal",
                        live: s.live, endReason: s.endReason, entryPage: s.entryPage, exitPage: s.exitPage)
        }
        try reader.statsErrors(selection) { e in
            partial.addErrors(message: e.message ?? e.name ?? "(no message)")
        }
        partial.orphanHeartbeats = try reader.orphanHeartbeats(selection)
        return partial
    }

    // MARK: Helpers

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
