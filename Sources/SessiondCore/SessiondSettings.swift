import Config
import SessionStore

/// sessiond's options, declared with Config's `Setting`s: each a `--flag` and a `CLICKPATH_*`
/// variable (the flag wins), with its default and its check. `resolve` turns them into the
/// `SessiondOptions` the server runs with.
public enum SessiondSettings {
    public static let shardID = Setting<String?>.optionalString(
        "shard-id", valueName: "ID", help: "this shard's stable id, checked in the Wire handshake (required)")
    public static let nodeID = Setting<String?>.optionalString(
        "node-id", valueName: "ID", help: "name in the Wire handshake; none means sessiond- and the shard id")
    public static let database = Setting<String>.string(
        "db", default: "sessiond.db", valueName: "PATH", help: "SQLite database file")
    public static let wire = Setting<HostPort>.hostPort(
        "wire", default: HostPort(host: "127.0.0.1", port: 7070),
        help: "Wire ingest address (collectors connect here); loopback unless set, e.g. 0.0.0.0:7070 for every interface")
    public static let http = Setting<HostPort>.hostPort(
        "http", default: HostPort(host: "127.0.0.1", port: 8081),
        help: "query API address; loopback unless set, e.g. 0.0.0.0:8081 for every interface")
    public static let adminTokenFile = Setting<String?>.optionalString(
        "admin-token-file", valueName: "FILE", help: "file holding the admin token for erasure; without a token erasure answers 403")
    public static let adminToken = Setting<String?>.optionalString(
        "admin-token", valueName: "TOKEN",
        help: "the admin token itself, best as the variable (a flag shows in `ps`); not together with --admin-token-file")
    public static let queryTimeout = Setting<Duration>.duration(
        "query-timeout", default: .seconds(5), min: .milliseconds(1), max: .seconds(600),
        help: "time limit of one query; past it the query is aborted and answers 503")
    public static let readers = Setting<Int>.int("readers", default: 2, range: 1...64, help: "query reader threads")
    public static let maxInFlight = Setting<Int>.int(
        "max-in-flight", default: 8, range: 1...1024, help: "unacknowledged batches allowed per Wire connection")
    public static let maxQueuedBatches = Setting<Int>.int(
        "max-queued-batches", default: 64, range: 1...100_000,
        help: "batches waiting for the writer before Wire connections are paused")
    public static let durability = Setting<String>.choice(
        "durability", default: "normal", choices: ["normal", "full"], help: "SQLite synchronous mode")
    public static let batchIDRetention = Setting<Duration>.duration(
        "batch-id-retention", default: .seconds(7 * 86_400), min: .seconds(60),
        help: "how long batch ids are remembered to drop re-sent batches")
    public static let tick = Setting<Duration>.duration(
        "tick", default: .seconds(1), min: .milliseconds(10), max: .seconds(60),
        help: "watermark step: live sessions whose inactivity timeout passed are completed")
    public static let drain = Setting<Duration>.duration(
        "drain", default: .seconds(10), max: .seconds(600),
        help: "on SIGTERM, how long collectors get to finish their batches")
    public static let walLimit = Setting<Int>.size(
        "wal-limit", default: Int(StoreOptions.defaultWALLimitBytes), range: (4 << 20)...(1 << 40),
        help: "bound of the SQLite WAL file: past half of it the writer truncates the WAL between commits")
    public static let maxWireConnections = Setting<Int>.int(
        "max-wire-connections", default: 256, range: 1...100_000,
        help: "Wire connections open at once, handshakes included; one more is told 'overloaded' and closed")
    public static let apps = Setting<String>.string(
        "apps", default: "apps.json", valueName: "FILE",
        help: "apps.json with each app's platform and session rules; sessiond does not start without a valid one. SIGHUP reloads it")

    public static let spec = SettingsSpec(
        program: "sessiond",
        summary: "One Clickpath shard: Wire ingest from collectors, the session store, the query API.",
        settings: [shardID.erased, nodeID.erased, database.erased, wire.erased, http.erased, adminTokenFile.erased,
                   adminToken.erased, queryTimeout.erased, readers.erased, maxInFlight.erased,
                   maxQueuedBatches.erased, durability.erased, batchIDRetention.erased, tick.erased, drain.erased,
                   walLimit.erased, maxWireConnections.erased, apps.erased])

    /// What `parse` found: options to run with, or the help text `--help` asked for.
    public enum Outcome: Sendable {
        case run(SessiondOptions, Settings)
        case help(String)
    }

    /// Parses and resolves in one step; `readFile` returns a file's text (the admin token file),
    /// injected for tests.
    public static func parse(arguments: [String], environment: [String: String],
                             readFile: (String) -> String?) throws(SettingsError) -> Outcome {
        switch try spec.parse(arguments: arguments, environment: environment) {
        case .help(let text): return .help(text)
        case .run(let settings): return .run(try resolve(settings, readFile: readFile), settings)
        }
    }

    /// The options of parsed settings: checks what needs more than one value or a file.
    public static func resolve(_ settings: Settings, readFile: (String) -> String?) throws(SettingsError) -> SessiondOptions {
        var o = SessiondOptions()
        let shard = try settings.require(shardID)
        guard !shard.isEmpty else {
            throw SettingsError(option: "--shard-id", message: "must not be empty")
        }
        o.shardID = shard
        o.nodeID = settings[nodeID] ?? "sessiond-\(shard)"
        o.database = settings[database]
        o.wire = settings[wire]
        o.http = settings[http]
        o.queryTimeoutMs = milliseconds(settings[queryTimeout])
        o.readers = settings[readers]
        o.maxInFlightPerConnection = settings[maxInFlight]
        o.maxQueuedBatches = settings[maxQueuedBatches]
        o.durability = settings[durability] == "full" ? .full : .normal
        o.batchIDRetentionMs = milliseconds(settings[batchIDRetention])
        o.tickMs = milliseconds(settings[tick])
        o.drainMs = milliseconds(settings[drain])
        o.appsPath = settings[apps]
        o.walLimitBytes = Int64(settings[walLimit])
        o.maxWireConnections = settings[maxWireConnections]
        switch (settings[adminTokenFile], settings[adminToken]) {
        case (.some, .some):
            throw SettingsError(option: "--admin-token-file",
                                message: "give either the token file or the token (--admin-token / CLICKPATH_ADMIN_TOKEN), not both")
        case (.some(let file), nil):
            guard let text = readFile(file) else {
                throw SettingsError(option: "--admin-token-file", message: "\(file) cannot be read")
            }
            o.adminToken = text.trimmingWhitespace()
        case (nil, let token):
            o.adminToken = token?.trimmingWhitespace()
        }
        if o.adminToken?.isEmpty == true { o.adminToken = nil }
        return o
    }

    /// Whole milliseconds, saturating (the settings' maxima keep values far below).
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? Int64.max : ms &+ attoseconds / 1_000_000_000_000_000
    }
}

/// The resolved options the server runs with (from `SessiondSettings`, or built by tests).
public struct SessiondOptions: Sendable {
    public var database = "sessiond.db"
    public var shardID = ""
    public var nodeID = ""
    public var wire = HostPort(host: "127.0.0.1", port: 7070)
    public var http = HostPort(host: "127.0.0.1", port: 8081)
    public var adminToken: String?
    public var queryTimeoutMs: Int64 = 5000
    public var readers = 2
    public var maxInFlightPerConnection = 8
    public var maxQueuedBatches = 64
    public var durability = Durability.normal
    public var batchIDRetentionMs: Int64 = 7 * 86_400_000
    public var tickMs: Int64 = 1000
    public var drainMs: Int64 = 10_000
    public var walLimitBytes = StoreOptions.defaultWALLimitBytes
    public var maxWireConnections = 256
    /// apps.json: per-app session rules. The daemon always sets it (`--apps`, default
    /// `apps.json`); nil, for embedded use and tests only, means the platform defaults.
    public var appsPath: String?

    public init() {}
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
