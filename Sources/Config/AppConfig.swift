#if canImport(Glibc)
import Glibc
#endif
import Model
import JSON
import System

/// How fast one application may send, per collector: a token bucket of `perSecond` beacons (or
/// events) refilled continuously, holding at most `burst`.
public struct RateLimit: Sendable, Hashable {
    public enum Unit: String, Sendable, Hashable {
        case beacons, events
    }

    public var unit: Unit
    public var perSecond: Double
    public var burst: Int

    public init(unit: Unit, perSecond: Double, burst: Int) {
        self.unit = unit
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Applied when an app says nothing about its rate limit.
    public static let `default` = RateLimit(unit: .beacons, perSecond: 1000, burst: 2000)
}

/// Everything `apps.json` says about one application, defaults filled in.
public struct AppSettings: Sendable, Hashable {
    /// The app id beacons carry. For an app admitted by the `"*"` entry, the id it asked for.
    public var id: String
    /// True when these are the settings of the `"*"` entry.
    public var isWildcard: Bool
    public var platform: Platform {
        didSet { rulesVersion = rules.fingerprint(platform: platform) }
    }
    public var description: String?
    /// The key clients must send (`?key=` or `X-Clickpath-Key`); nil when none is required.
    public var ingestKey: String?
    /// Browser origins allowed to send beacons: exact origins, `https://*.example.com`, or `*`.
    public var allowedOrigins: [String]
    /// nil: not limited.
    public var rateLimit: RateLimit?
    /// Query parameters whose values are scrubbed from URLs; nil: the collector's default list.
    public var scrubQueryParameters: [String]?
    public var rules: SessionRules {
        didSet { rulesVersion = rules.fingerprint(platform: platform) }
    }
    /// Changes exactly when a number that decides how sessions are cut or rated changes, so a
    /// stored session can record which rules made it (see `SessionRules.fingerprint`). Kept in
    /// step with `rules` and `platform`.
    public private(set) var rulesVersion: UInt64

    public init(id: String, isWildcard: Bool = false, platform: Platform, description: String? = nil,
                ingestKey: String? = nil, allowedOrigins: [String] = ["*"],
                rateLimit: RateLimit? = .default, scrubQueryParameters: [String]? = nil,
                rules: SessionRules? = nil) {
        self.id = id
        self.isWildcard = isWildcard
        self.platform = platform
        self.description = description
        self.ingestKey = ingestKey
        self.allowedOrigins = allowedOrigins
        self.rateLimit = rateLimit
        self.scrubQueryParameters = scrubQueryParameters
        let rules = rules ?? SessionRules.defaults(for: platform)
        self.rules = rules
        self.rulesVersion = rules.fingerprint(platform: platform)
    }

    /// Checks a key the client sent, in time independent of where it differs.
    public func acceptsKey(_ key: String?) -> Bool {
        guard let expected = ingestKey else { return true }
        guard let key else { return false }
        let a = Array(expected.utf8)
        let b = Array(key.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<a.count {
            difference |= a[i] ^ (i < b.count ? b[i] : ~a[i])
        }
        return difference == 0 && a.count == b.count
    }
}

/// The answer to "may this app send?".
public enum AppAdmission: Sendable, Hashable {
    /// The app has its own entry.
    case configured(AppSettings)
    /// The app has no entry; the `"*"` entry admits it with these settings.
    case wildcard(AppSettings)
    /// Not admitted (answer 403 with `reason`).
    case unknown(reason: String)

    public var settings: AppSettings? {
        switch self {
        case .configured(let settings), .wildcard(let settings): settings
        case .unknown: nil
        }
    }
}

/// The applications of `apps.json` (schema: `Schemas/apps.schema.json`). Immutable: a reload
/// builds a new value (see `AppConfigStore`).
public struct AppConfig: Sendable, Hashable {
    /// Apps by id, without the `"*"` entry.
    public var apps: [String: AppSettings]
    /// The `"*"` entry: admits any other app id with these settings.
    public var wildcard: AppSettings?

    public init(apps: [AppSettings], wildcard: AppSettings? = nil) {
        self.apps = Dictionary(apps.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.wildcard = wildcard
    }

    /// Whether `app` may send, and with which settings.
    public func admit(_ app: String) -> AppAdmission {
        if let settings = apps[app] { return .configured(settings) }
        if var settings = wildcard {
            settings.id = app
            return .wildcard(settings)
        }
        return .unknown(reason: "unknown application \"\(app.prefix(64))\": apps.json has no entry for it and no \"*\" entry")
    }

    /// The settings `app` is admitted with, or nil when it is not admitted.
    public func settings(for app: String) -> AppSettings? { admit(app).settings }

    /// Parses and validates the content of an `apps.json`. `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String = "apps.json") throws(ConfigError) -> AppConfig {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes, maxDepth: 16, duplicateKeys: .reject)
        } catch {
            throw ConfigError.syntax(error, in: bytes, file: file)
        }
        return try AppConfigDecoder.decode(document)
    }

    /// Reads and validates an `apps.json` file.
    public static func load(path: String) throws(ConfigError) -> AppConfig {
        let limit = 16 << 20
        let read: [UInt8]?
        do {
            read = try FileIO.readFile(path, limit: limit + 1)
        } catch {
            throw ConfigError(path: path, message: "cannot \(error.call): \(error.reason)")
        }
        guard let bytes = read else {
            throw ConfigError(path: path, message: "cannot open: \(SyscallError("open", errno: ENOENT).reason)")
        }
        guard bytes.count <= limit else { throw ConfigError(path: path, message: "larger than \(limit) bytes") }
        return try parse(bytes, file: path)
    }
}

extension SessionRules {
    /// A stable 64-bit FNV-1a hash of the platform and every number that decides how sessions
    /// are cut and rated. Collector bounds (lateness, clock skew) are left out: they decide which
    /// events are accepted, not how accepted events are sessionized.
    public func fingerprint(platform: Platform) -> UInt64 {
        func text(_ value: Int64?) -> String { value.map(String.init) ?? "off" }
        let canonical = [
            "v1", "platform=\(platform.name)",
            "inactivityTimeout=\(text(inactivityTimeout))",
            "heartbeatTimeout=\(text(heartbeatTimeout))",
            "maxDuration=\(text(maxDuration))",
            "maxActions=\(text(maxActions.map(Int64.init)))",
            "backgroundTimeout=\(text(backgroundTimeout))",
            "backstop=\(text(backstop))",
            "activeGap=\(activeGap)",
            "apdexThreshold=\(apdexThreshold)",
            "toleratingFactor=\(toleratingFactor)",
            "frustratedShare=\(frustratedShare.bitPattern)",
            "satisfiedShare=\(satisfiedShare.bitPattern)",
        ].joined(separator: ";")
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in canonical.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
