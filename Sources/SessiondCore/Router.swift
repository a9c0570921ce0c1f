/// Every route of the query API. `rawValue` is the OpenAPI `operationId`; a test checks that this
/// table and `Schemas/query-api.openapi.json` list the same (method, path, operationId).
public enum Route: String, CaseIterable, Sendable, Hashable {
    case listSessions, getSession, getWaterfall, getError, listUserSessions, listVisitorSessions
    case liveUsers, activeUsers, stats, statsPartial, eraseUser, eraseVisitor, healthz, readyz, metrics

    public var method: String {
        switch self {
        case .eraseUser, .eraseVisitor: "DELETE"
        default: "GET"
        }
    }

    /// The path template, parameters in braces as in OpenAPI.
    public var template: String {
        switch self {
        case .listSessions: "/v1/sessions"
        case .getSession: "/v1/sessions/{sessionId}"
        case .getWaterfall: "/v1/sessions/{sessionId}/waterfall"
        case .getError: "/v1/sessions/{sessionId}/errors/{eventId}"
        case .listUserSessions: "/v1/users/{userTag}/sessions"
        case .listVisitorSessions: "/v1/visitors/{visitorId}/sessions"
        case .liveUsers: "/v1/users/live"
        case .activeUsers: "/v1/users/active"
        case .stats: "/v1/stats"
        case .statsPartial: "/v1/stats/partial"
        case .eraseUser: "/v1/users/{userTag}"
        case .eraseVisitor: "/v1/visitors/{visitorId}"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        }
    }

    /// The label of the route in metrics (the template, so ids never become label values).
    public var metricLabel: String { method + " " + template }

    fileprivate var segments: [Segment] {
        template.split(separator: "/").map { part in
            part.hasPrefix("{") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }
}

fileprivate enum Segment {
    case literal(String)
    case parameter(String)
}

/// A request matched to a route, with its decoded path parameters.
public struct RouteMatch: Sendable, Hashable {
    public var route: Route
    public var parameters: [String: String]
}

public enum Router {
    private static let table: [(Route, [Segment])] = Route.allCases.map { ($0, $0.segments) }

    /// Matches `path` (without the query string). Literal segments win over parameters, so
    /// `GET /v1/users/live` is the live count, not a user. 404 for an unknown path, 405 with the
    /// allowed methods when only the method is wrong.
    public static func match(method: String, path: some Collection<UInt8>) throws(APIError) -> RouteMatch {
        let raw = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        guard path.first == UInt8(ascii: "/") else {
            throw APIError(status: 404, code: .notFound, message: "no route for a path that does not start with '/'")
        }
        var best: (route: Route, literals: Int, parameters: [String: String])?
        var allowed: Set<String> = []
        for (route, segments) in table where segments.count == raw.count {
            var literals = 0
            var parameters: [String: String] = [:]
            var matched = true
            for (segment, bytes) in zip(segments, raw) {
                switch segment {
                case .literal(let text):
                    if !bytes.elementsEqual(text.utf8) { matched = false }
                    literals += 1
                case .parameter(let name):
                    if bytes.isEmpty { matched = false; break }
                    parameters[name] = try QueryString.decode(Array(bytes), parameter: name, plusIsSpace: false)
                }
                if !matched { break }
            }
            guard matched else { continue }
            guard route.method == method else { allowed.insert(route.method); continue }
            if let current = best, current.literals >= literals { continue }
            best = (route, literals, parameters)
        }
        if let best { return RouteMatch(route: best.route, parameters: best.parameters) }
        if !allowed.isEmpty {
            throw APIError(status: 405, code: .methodNotAllowed,
                           message: "\(method) is not allowed here; use \(allowed.sorted().joined(separator: " or "))")
        }
        throw APIError(status: 404, code: .notFound,
                       message: "no route \(String(decoding: Array(path), as: UTF8.self)); the routes are listed in Schemas/query-api.openapi.json")
    }
}
