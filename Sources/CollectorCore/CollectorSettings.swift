// The collector's options (flags and CLICKPATH_* variables), turned into a configuration.
import Model
import Beacon
import Config
import Transport
import System

public enum CollectorSettings {
    static let http = Setting<HostPort>.hostPort("http", default: HostPort(host: "127.0.0.1", port: 8080),
                                                 help: "Where beacons are received (HTTP/1.1); loopback unless set, e.g. 0.0.0.0:8080 for every interface.")
    static let httpLoops = Setting<Int>.int("http-loops", default: 1, range: 1...64, help: "HTTP event loop threads.")
    static let dataDirectory = Setting<String>.string("data-dir", default: "data/collector", valueName: "DIR",
                                                      help: "Producer id, epoch and the spool.")
    static let apps = Setting<String>.string("apps", default: "apps.json", valueName: "FILE",
                                             help: "Applications (apps.json); the collector does not start without a valid one. SIGHUP reloads it.")
    static let shards = Setting<[String]>.list("shards", default: [], valueName: "ID=HOST:PORT,...",
                                               help: "The sessiond shards: stable shard id and Wire address of each.")
    static let ack = Setting<String>.choice("ack", default: "spool", choices: AckMode.allCases.map(\.rawValue),
                                            help: "When 202 is answered: at once (memory), after the spool's fsync (spool), after sessiond acknowledged (sessiond).")
    static let spoolMaxBytes = Setting<Int>.size("spool-max-bytes", default: 1 << 30, range: (1 << 20)...Int.max,
                                                 help: "Spool size bound; beyond it beacons get 503 with Retry-After.")
    static let spoolMaxAge = Setting<Duration>.duration("spool-max-age", default: .seconds(3 * 24 * 3600), min: .seconds(60),
                                                        help: "A batch older than this goes to the dead-letter file instead of being sent; keep it below sessiond's --batch-id-retention.")
    static let batchMaxEvents = Setting<Int>.int("batch-max-events", default: 1000, range: 1...100_000, help: "Events per batch.")
    static let batchMaxBytes = Setting<Int>.size("batch-max-bytes", default: 256 << 10, range: 1024...(8 << 20),
                                                 help: "Estimated encoded bytes per batch.")
    static let batchMaxAge = Setting<Duration>.duration("batch-max-age", default: .milliseconds(20), min: .milliseconds(1),
                                                        max: .seconds(10), help: "How long a batch stays open.")
    static let maxInFlight = Setting<Int>.int("max-in-flight", default: 32, range: 1...1024,
                                              help: "Unanswered batches per shard connection.")
    static let sessiondAckTimeout = Setting<Duration>.duration("sessiond-ack-timeout", default: .seconds(10), min: .milliseconds(100),
                                                               help: "--ack=sessiond: how long a request waits for the shard before 503.")
    static let retryAfter = Setting<Int>.int("retry-after", default: 5, range: 1...3600, help: "Retry-After seconds of 503 answers.")
    static let shutdownTimeout = Setting<Duration>.duration("shutdown-timeout", default: .seconds(10),
                                                            help: "SIGTERM: longest wait for answers (or for the drain).")
    static let drainOnExit = Setting<Bool>.flag("drain-on-exit", default: false,
                                                help: "SIGTERM: keep sending until the spool is empty (scale-down), bounded by --shutdown-timeout.")
    static let trustedProxies = Setting<String>.string("trusted-proxies", default: "", valueName: "CIDR,...",
                                                       help: "Peers whose X-Forwarded-For is believed.")
    static let nodeID = Setting<String>.string("node-id", default: "collector", help: "This collector's name in sessiond's logs.")

    public static let spec = SettingsSpec(program: "collector", summary: "Receives beacons over HTTP and forwards them to sessiond shards.", settings: [
        http.erased, httpLoops.erased, dataDirectory.erased, apps.erased, shards.erased, ack.erased, spoolMaxBytes.erased,
        spoolMaxAge.erased, batchMaxEvents.erased, batchMaxBytes.erased, batchMaxAge.erased, maxInFlight.erased,
        sessiondAckTimeout.erased, retryAfter.erased, shutdownTimeout.erased, drainOnExit.erased, trustedProxies.erased,
        nodeID.erased,
    ])

    public enum Outcome: Sendable {
        case run(CollectorConfiguration, appsPath: String)
        case help(String)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// `id=host:port` entries.
    static func parseShards(_ entries: [String]) throws(SettingsError) -> [ShardEndpoint] {
        var endpoints: [ShardEndpoint] = []
        for entry in entries {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw SettingsError(option: "--shards", message: "expected ID=HOST:PORT entries, \"\(entry)\" has no shard id")
            }
            let id = String(entry[..<equals])
            let rest = String(entry[entry.index(after: equals)...])
            guard let hostPort = SettingValues.hostPort(rest), hostPort.port != 0,
                  let address = SocketAddress(host: hostPort.host.isEmpty ? "127.0.0.1" : hostPort.host, port: hostPort.port) else {
                throw SettingsError(option: "--shards", message: "\"\(rest)\" of shard \(id) is not a numeric HOST:PORT such as 10.0.0.5:7000")
            }
            guard !endpoints.contains(where: { $0.id == id }) else {
                throw SettingsError(option: "--shards", message: "shard id \(id) is listed twice")
            }
            endpoints.append(ShardEndpoint(id: id, address: address))
        }
        guard !endpoints.isEmpty else {
            throw SettingsError(option: "--shards", message: "at least one sessiond shard is needed, e.g. --shards s1=127.0.0.1:7000")
        }
        return endpoints
    }

    public static func parse(arguments: [String], environment: [String: String]) throws(SettingsError) -> Outcome {
        let settings: Settings
        switch try spec.parse(arguments: arguments, environment: environment) {
        case let .help(text): return .help(text)
        case let .run(parsed): settings = parsed
        }
        var configuration = CollectorConfiguration(dataDirectory: settings[dataDirectory], shards: try parseShards(settings[shards]))
        configuration.httpHost = settings[http].host
        configuration.httpPort = settings[http].port
        configuration.httpLoops = settings[httpLoops]
        guard let mode = AckMode(rawValue: settings[ack]) else {
            throw SettingsError(option: "--ack", message: "expected memory, spool or sessiond")
        }
        configuration.pipeline = PipelineOptions(
            ackMode: mode,
            batchLimits: BatchLimits(maxEvents: settings[batchMaxEvents], maxBytes: settings[batchMaxBytes],
                                     maxAgeNanoseconds: nanoseconds(settings[batchMaxAge])),
            maxInFlight: settings[maxInFlight],
            spoolMaxAgeMilliseconds: Int64(clamping: nanoseconds(settings[spoolMaxAge]) / 1_000_000),
            retryAfterSeconds: settings[retryAfter],
            sessiondAckTimeoutNanoseconds: nanoseconds(settings[sessiondAckTimeout]))
        configuration.spool = SpoolOptions(maxBytes: Int64(settings[spoolMaxBytes]))
        configuration.shutdownTimeoutNanoseconds = nanoseconds(settings[shutdownTimeout])
        configuration.drainOnExit = settings[drainOnExit]
        switch TrustedProxies.parse(settings[trustedProxies]) {
        case let .success(proxies): configuration.trustedProxies = proxies
        case let .failure(error): throw SettingsError(option: "--trusted-proxies", message: "\(error)")
        }
        configuration.nodeID = settings[nodeID]
        return .run(configuration, appsPath: settings[apps])
    }
}
