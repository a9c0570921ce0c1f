import Config
import Foundation
import SessionStore
import System
import Testing
@testable import SessiondCore

@Suite struct SessiondSettingsTests {
    func parse(_ args: [String], env: [String: String] = [:], files: [String: String] = [:]) throws -> SessiondOptions {
        guard case .run(let options, _) = try SessiondSettings.parse(arguments: args, environment: env,
                                                                     readFile: { files[$0] }) else {
            throw SettingsError(option: "test", message: "expected options, got help")
        }
        return options
    }

    @Test func defaultsAndFlags() throws {
        let o = try parse(["--shard-id", "s7"])
        #expect(o.shardID == "s7" && o.nodeID == "sessiond-s7" && o.database == "sessiond.db")
        // Loopback unless told otherwise: neither port authenticates its peers.
        #expect(o.wire == HostPort(host: "127.0.0.1", port: 7070) && o.http == HostPort(host: "127.0.0.1", port: 8081))
        #expect(o.queryTimeoutMs == 5000 && o.tickMs == 1000 && o.drainMs == 10_000)
        #expect(o.batchIDRetentionMs == 7 * 86_400_000 && o.durability == .normal && o.readers == 2)
        #expect(o.adminToken == nil && o.appsPath == "apps.json")
        let p = try parse(["--shard-id=s1", "--wire", "127.0.0.1:0", "--http=[::1]:9", "--durability", "full",
                           "--batch-id-retention", "3d", "--query-timeout", "250ms", "--tick", "100ms",
                           "--drain", "1m30s", "--admin-token-file", "/t", "--db", "/d/s.db"], files: ["/t": "tok\n"])
        #expect(p.wire == HostPort(host: "127.0.0.1", port: 0) && p.http == HostPort(host: "::1", port: 9))
        #expect(p.durability == .full && p.database == "/d/s.db")
        #expect(p.batchIDRetentionMs == 3 * 86_400_000 && p.queryTimeoutMs == 250 && p.tickMs == 100)
        #expect(p.drainMs == 90_000)
        #expect(p.adminToken == "tok")
        #expect(try parse(["--shard-id", "s", "--apps", "/etc/apps.json"]).appsPath == "/etc/apps.json")
    }

    @Test func environmentAndFlagPrecedence() throws {
        let o = try parse(["--http", ":1"], env: ["CLICKPATH_SHARD_ID": "e", "CLICKPATH_HTTP": ":2",
                                                  "CLICKPATH_READERS": "3", "CLICKPATH_ADMIN_TOKEN": " x\n",
                                                  "CLICKPATH_QUERY_TIMEOUT": "2s"])
        #expect(o.shardID == "e" && o.http.port == 1 && o.readers == 3 && o.adminToken == "x")
        #expect(o.queryTimeoutMs == 2000)
    }

    @Test func helpListsEveryOption() throws {
        guard case .help(let text) = try SessiondSettings.parse(arguments: ["--help"], environment: [:], readFile: { _ in nil }) else {
            Issue.record("--help gave no help")
            return
        }
        for setting in SessiondSettings.spec.settings {
            #expect(text.contains("--\(setting.name)") && text.contains(setting.environmentName))
        }
    }

    @Test(arguments: [
        (["--wire", ":1"], "--shard-id"),
        (["--shard-id", ""], "--shard-id"),
        (["--shard-id", "s", "--wire", "70000"], "--wire"),
        (["--shard-id", "s", "--wire-port", "1"], "--wire-port"),
        (["--shard-id", "s", "--durability", "sometimes"], "--durability"),
        (["--shard-id", "s", "--readers"], "--readers"),
        (["--shard-id", "s", "--readers", "0"], "--readers"),
        (["--shard-id", "s", "--query-timeout", "5000"], "--query-timeout"),
        (["--shard-id", "s", "--tick", "1ms"], "--tick"),
        (["--shard-id", "s", "--batch-id-retention", "30s"], "--batch-id-retention"),
        (["--shard-id", "s", "--admin-token-file", "/missing"], "--admin-token-file"),
        (["--shard-id", "s", "--admin-token-file", "/t", "--admin-token", "x"], "--admin-token-file"),
        (["stray"], "stray"),
    ])
    func refuses(_ args: [String], _ option: String) {
        #expect {
            try parse(args, files: ["/t": "tok"])
        } throws: { error in
            (error as? SettingsError)?.option == option
        }
    }

    @Test func badVariableNamesTheVariable() {
        #expect {
            try parse(["--shard-id", "s"], env: ["CLICKPATH_TICK": "soon"])
        } throws: { error in
            (error as? SettingsError)?.option == "CLICKPATH_TICK"
        }
    }
}

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() {
        let m = SessiondMetrics()
        m.batch("committed", new: 10, duplicate: 2, dropped: 1, commitSeconds: 0.003)
        m.batch("duplicate", new: 0, duplicate: 0, dropped: 0, commitSeconds: 0)
        m.freshness(0.2, events: 10)
        m.query(.listSessions, status: 200, seconds: 0.004)
        m.commitFailed()
        m.walTruncation(succeeded: true)
        let text = m.render(SessiondMetrics.Gauges(liveSessions: 7, databaseBytes: 4096, walBytes: 1024,
                                                   walLimitBytes: 64 << 20, writable: false))
        #expect(text.contains("clickpath_sessiond_wal_bytes 1024\n"))
        #expect(text.contains("clickpath_sessiond_wal_limit_bytes 67108864\n"))
        #expect(text.contains("clickpath_sessiond_wal_truncations_total{outcome=\"truncated\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_commit_failures_total 1\n"))
        #expect(text.contains("clickpath_sessiond_store_writable 0\n"))
        #expect(text.contains("clickpath_sessiond_batches_total{outcome=\"committed\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_batches_total{outcome=\"duplicate\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_events_total{kind=\"new\"} 10\n"))
        #expect(text.contains("clickpath_sessiond_events_total{kind=\"dropped\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_commit_seconds_bucket{le=\"0.005\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_commit_seconds_bucket{le=\"0.0025\"} 0\n"))
        #expect(text.contains("clickpath_sessiond_freshness_seconds_count 10\n"))
        #expect(text.contains("clickpath_sessiond_query_seconds_count{route=\"GET /v1/sessions\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_query_responses_total{route=\"GET /v1/sessions\",status=\"200\"} 1\n"))
        #expect(text.contains("clickpath_sessiond_live_sessions 7\n"))
        #expect(text.contains("clickpath_sessiond_database_bytes 4096\n"))
        // Every sample line is `name{labels} number` or `name number`.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(Double(line.split(separator: " ").last ?? "") != nil, "\(line)")
        }
        #expect(m.freshnessP99 == 0.25)
    }
}

@Suite struct RegisteredRoutesTests {
    /// The routes `SessiondServer` registers on its HTTP server are the OpenAPI document's.
    @Test func serverRoutesAreDocumented() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/query-api.openapi.json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths { for method in operations.keys { documented.insert(method.uppercased() + " " + path) } }
        let registered = Set(SessiondServer.registeredRoutes.map { $0.0 + " " + $0.1 })
        #expect(registered == documented)
        #expect(SessiondServer.registeredRoutes.count == registered.count)
    }

    @Test func adminTokenComparison() {
        #expect(constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!constantTimeEqual([], Array("a".utf8)))
    }
}

@Suite struct RepeatLimiterTests {
    /// One message per kind per interval; the next one says how many were left out.
    @Test func oneLinePerKindPerInterval() {
        var limiter = RepeatLimiter(intervalSeconds: 10)
        #expect(limiter.admit("reject", now: 0) == 0)
        for i in 1...80 { #expect(limiter.admit("reject", now: Double(i) / 10) == nil) }
        #expect(limiter.admit("advance", now: 5) == 0)
        #expect(limiter.admit("reject", now: 9.99) == nil)
        #expect(limiter.admit("reject", now: 10) == 81)
        #expect(limiter.admit("reject", now: 25) == 0)
    }
}

@Suite struct FaultSettingsTests {
    @Test func walLimitAndWireConnectionsHaveDefaultsAndFlags() throws {
        guard case .run(let defaults, _) = try SessiondSettings.parse(arguments: ["--shard-id", "s1"], environment: [:],
                                                                     readFile: { _ in nil }) else {
            Issue.record("expected options")
            return
        }
        #expect(defaults.walLimitBytes == 64 << 20)
        #expect(defaults.maxWireConnections == 256)
        guard case .run(let set, _) = try SessiondSettings.parse(
            arguments: ["--shard-id", "s1", "--wal-limit", "16MiB"],
            environment: ["CLICKPATH_MAX_WIRE_CONNECTIONS": "32"], readFile: { _ in nil }) else {
            Issue.record("expected options")
            return
        }
        #expect(set.walLimitBytes == 16 << 20)
        #expect(set.maxWireConnections == 32)
        #expect(throws: SettingsError.self) {
            _ = try SessiondSettings.parse(arguments: ["--shard-id", "s1", "--wal-limit", "1MiB"], environment: [:],
                                           readFile: { _ in nil })
        }
    }
}
