import Foundation
import SessionStore
import Testing
@testable import SessiondCore

@Suite struct RouterTests {
    @Test(arguments: [
        ("GET", "/v1/sessions", Route.listSessions, [String: String]()),
        ("GET", "/v1/sessions/abc", .getSession, ["sessionId": "abc"]),
        ("GET", "/v1/sessions/abc/waterfall", .getWaterfall, ["sessionId": "abc"]),
        ("GET", "/v1/sessions/abc/errors/e%2F1", .getError, ["sessionId": "abc", "eventId": "e/1"]),
        ("GET", "/v1/users/alice%40example.com/sessions", .listUserSessions, ["userTag": "alice@example.com"]),
        ("GET", "/v1/visitors/v+1/sessions", .listVisitorSessions, ["visitorId": "v+1"]),
        ("GET", "/v1/users/live", .liveUsers, [:]),
        ("GET", "/v1/users/active", .activeUsers, [:]),
        ("DELETE", "/v1/users/live", .eraseUser, ["userTag": "live"]),
        ("DELETE", "/v1/visitors/v1", .eraseVisitor, ["visitorId": "v1"]),
        ("GET", "/v1/stats", .stats, [:]),
        ("GET", "/v1/stats/partial", .statsPartial, [:]),
        ("GET", "/healthz", .healthz, [:]),
        ("GET", "/readyz", .readyz, [:]),
        ("GET", "/metrics", .metrics, [:]),
    ])
    func matches(_ method: String, _ path: String, _ route: Route, _ parameters: [String: String]) throws {
        let m = try Router.match(method: method, path: Array(path.utf8))
        #expect(m.route == route)
        #expect(m.parameters == parameters)
    }

    @Test(arguments: [("GET", "/v1/nope", 404), ("GET", "/v1/sessions/", 404), ("GET", "", 404),
                      ("GET", "v1/sessions", 404), ("POST", "/v1/sessions", 405), ("GET", "/v1/users/bob", 405),
                      ("DELETE", "/v1/stats", 405), ("GET", "/v1/sessions/%ZZ", 400), ("GET", "//", 404)])
    func refuses(_ method: String, _ path: String, _ status: Int) {
        do {
            let m = try Router.match(method: method, path: Array(path.utf8))
            Issue.record("matched \(m.route)")
        } catch {
            #expect(error.status == status)
        }
    }

    /// Every route the server registers is in the OpenAPI document and vice versa.
    @Test func routesEqualTheOpenAPIDocument() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/query-api.openapi.json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for (method, op) in operations {
                let id = (op as? [String: Any])?["operationId"] as? String ?? "?"
                documented.insert("\(method.uppercased()) \(path) \(id)")
            }
        }
        let registered = Set(Route.allCases.map { "\($0.method) \($0.template) \($0.rawValue)" })
        #expect(registered.subtracting(documented).isEmpty, "registered but undocumented")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered")
    }

    /// Every filter the parser accepts is documented as a parameter, negation included.
    @Test func filterParametersAreDocumented() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/query-api.openapi.json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let components = try #require((doc["components"] as? [String: Any])?["parameters"] as? [String: [String: Any]])
        var names = Set(components.values.compactMap { $0["name"] as? String })
        for operations in (doc["paths"] as? [String: [String: Any]] ?? [:]).values {
            for op in operations.values {
                for p in (op as? [String: Any])?["parameters"] as? [[String: Any]] ?? [] {
                    if let name = p["name"] as? String { names.insert(name) }
                }
            }
        }
        var expected = TextField.allCases.map(\.rawValue)
        for f in NumberField.allCases {
            let s = f.rawValue.prefix(1).uppercased() + f.rawValue.dropFirst()
            expected += ["min" + s, "max" + s]
        }
        for name in expected {
            #expect(names.contains(name), "\(name) undocumented")
            #expect(names.contains("not." + name), "not.\(name) undocumented")
            let value = name.hasPrefix("min") || name.hasPrefix("max") ? "1" : (TextField(rawValue: name)?.allowedValues?.first ?? "x")
            #expect(throws: Never.self) { _ = try SessionQuery.parse([(name, value)], now: 0) }
        }
        for name in ["from", "to", "sort", "order", "limit", "cursor", "prop", "window", "interval", "top", "event", "app"] {
            #expect(names.contains(name), "\(name) undocumented")
        }
    }
}
