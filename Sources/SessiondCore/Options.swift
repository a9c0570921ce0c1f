import SessionStore

/// sessiond's settings: each a `--flag value` and a `CLICKPATH_*` environment variable (the flag
/// wins). `SessiondOptions.help` lists them.
public struct SessiondOptions: Sendable {
    public var database = "sessiond.db"
    public var shardID = ""
    public var nodeID = ""
    public var wireHost = "0.0.0.0"
    public var wirePort: UInt16 = 7070
    public var httpHost = "0.0.0.0"
    public var httpPort: UInt16 = 8081
    public var adminToken: String?
    public var queryTimeoutMs: Int64 = 5000
    public var readers = 2
    public var maxInFlightPerConnection = 8
    public var maxQueuedBatches = 64
    public var durability = Durability.normal
    public var batchIDRetentionMs: Int64 = 7 * 86_400_000
    public var tickMs: Int64 = 1000
    public var drainMs: Int64 = 10_000
    /// apps.json: per-app session rules (the platform defaults without it).
    public var appsPath: String?

    public init() {}

    public static let help = """
        usage: sessiond --shard-id ID [options]

          --shard-id ID               this shard's stable id, checked in the Wire handshake (CLICKPATH_SHARD_ID)
          --db PATH                   SQLite database file (CLICKPATH_DB, default sessiond.db)
          --wire-host HOST            Wire ingest address (CLICKPATH_WIRE_HOST, default 0.0.0.0)
          --wire-port PORT            Wire ingest port, 0 picks one (CLICKPATH_WIRE_PORT, default 7070)
          --http-host HOST            query API address (CLICKPATH_HTTP_HOST, default 0.0.0.0)
          --http-port PORT            query API port, 0 picks one (CLICKPATH_HTTP_PORT, default 8081)
          --admin-token-file FILE     file holding the admin token for erasure (or CLICKPATH_ADMIN_TOKEN);
                                      without one, erasure answers 403
          --query-timeout-ms N        time limit of one query, then 503 (CLICKPATH_QUERY_TIMEOUT_MS, default 5000)
          --readers N                 reader threads (CLICKPATH_READERS, default 2)
          --max-in-flight N           unacknowledged batches per Wire connection (CLICKPATH_MAX_IN_FLIGHT, default 8)
          --max-queued-batches N      batches waiting for the writer before connections are paused
                                      (CLICKPATH_MAX_QUEUED_BATCHES, default 64)
          --durability normal|full    SQLite synchronous mode (CLICKPATH_DURABILITY, default normal)
          --batch-id-retention DUR    how long batch ids are remembered (CLICKPATH_BATCH_ID_RETENTION, default 7d)
          --tick-ms N                 watermark step: live sessions whose timeout passed complete
                                      (CLICKPATH_TICK_MS, default 1000)
          --drain-ms N                on SIGTERM, how long collectors get to finish (CLICKPATH_DRAIN_MS, default 10000)
          --node-id ID                name in the handshake (CLICKPATH_NODE_ID, default sessiond-SHARD)
          --apps PATH                 apps.json with each app's session rules; SIGHUP reloads it
                                      (CLICKPATH_APPS; without it, the platform defaults)

        """

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// `readFile` returns a file's text (the admin token file); injected for tests.
    public static func parse(_ arguments: [String], environment: [String: String],
                             readFile: (String) -> String?) throws(ParseError) -> SessiondOptions {
        let flags = ["shard-id", "db", "wire-host", "wire-port", "http-host", "http-port", "admin-token-file",
                     "query-timeout-ms", "readers", "max-in-flight", "max-queued-batches", "durability",
                     "batch-id-retention", "tick-ms", "drain-ms", "node-id", "apps"]
        var values: [String: String] = [:]
        for flag in flags {
            let env = "CLICKPATH_" + flag.uppercased().replacingDashes()
            if let v = environment[env] { values[flag] = v }
        }
        var tokenFromEnvironment = environment["CLICKPATH_ADMIN_TOKEN"]
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else { throw ParseError(description: "unexpected argument '\(arg)'\n\n" + help) }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "help" { throw ParseError(description: help) }
            guard flags.contains(name) else { throw ParseError(description: "unknown option --\(name)\n\n" + help) }
            if value == nil {
                guard i + 1 < arguments.count else { throw ParseError(description: "--\(name) needs a value") }
                i += 1
                value = arguments[i]
            }
            values[name] = value
            if name == "admin-token-file" { tokenFromEnvironment = nil }
            i += 1
        }
        var o = SessiondOptions()
        func int(_ flag: String, _ range: ClosedRange<Int64>) throws(ParseError) -> Int64? {
            guard let text = values[flag] else { return nil }
            guard let n = TimeSyntax.integer(text[...]), range.contains(n) else {
                throw ParseError(description: "--\(flag) must be an integer in \(range.lowerBound)...\(range.upperBound); got '\(text)'")
            }
            return n
        }
        guard let shard = values["shard-id"], !shard.isEmpty else {
            throw ParseError(description: "--shard-id is required (this shard's stable id)\n\n" + help)
        }
        o.shardID = shard
        o.nodeID = values["node-id"] ?? "sessiond-\(shard)"
        if let db = values["db"] { o.database = db }
        if let apps = values["apps"], !apps.isEmpty { o.appsPath = apps }
        if let h = values["wire-host"] { o.wireHost = h }
        if let h = values["http-host"] { o.httpHost = h }
        if let p = try int("wire-port", 0...65535) { o.wirePort = UInt16(p) }
        if let p = try int("http-port", 0...65535) { o.httpPort = UInt16(p) }
        if let n = try int("query-timeout-ms", 1...600_000) { o.queryTimeoutMs = n }
        if let n = try int("readers", 1...64) { o.readers = Int(n) }
        if let n = try int("max-in-flight", 1...1024) { o.maxInFlightPerConnection = Int(n) }
        if let n = try int("max-queued-batches", 1...100_000) { o.maxQueuedBatches = Int(n) }
        if let n = try int("tick-ms", 10...60_000) { o.tickMs = n }
        if let n = try int("drain-ms", 0...600_000) { o.drainMs = n }
        if let d = values["durability"] {
            guard let parsed = Durability(rawValue: d) else {
                throw ParseError(description: "--durability must be normal or full; got '\(d)'")
            }
            o.durability = parsed
        }
        if let r = values["batch-id-retention"] {
            guard let ms = TimeSyntax.duration(r[...]), ms >= 60_000 else {
                throw ParseError(description: "--batch-id-retention must be a duration of at least 1m, like 7d; got '\(r)'")
            }
            o.batchIDRetentionMs = ms
        }
        if let file = values["admin-token-file"] {
            guard let text = readFile(file) else {
                throw ParseError(description: "--admin-token-file \(file) cannot be read")
            }
            o.adminToken = text.trimmingWhitespace()
        } else if let token = tokenFromEnvironment {
            o.adminToken = token.trimmingWhitespace()
        }
        if o.adminToken?.isEmpty == true { o.adminToken = nil }
        return o
    }
}

extension String {
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }

    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
