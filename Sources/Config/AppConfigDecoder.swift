import Model
import JSON

/// Turns the JSON tree of `apps.json` into `AppConfig`, enforcing what
/// `Schemas/apps.schema.json` says. Every error names the field's path.
enum AppConfigDecoder {
    /// Durations are capped so that sums and products of them cannot overflow downstream.
    static let maxMilliseconds: Int64 = 366 * 24 * 3_600_000
    static let maxActionsLimit: Int64 = 1_000_000

    static let appFields = ["platform", "description", "ingestKey", "allowedOrigins", "rateLimit",
                            "scrubQueryParameters", "rules"]
    static let ruleFields = ["inactivityTimeout", "heartbeatTimeout", "maxDuration", "maxActions",
                             "backgroundTimeout", "backstop", "lateness", "activeGap", "apdexThreshold",
                             "maxClockSkew", "toleratingFactor", "frustratedShare", "satisfiedShare"]

    static func decode(_ document: JSONValue) throws(ConfigError) -> AppConfig {
        let top = try object(document, "(top level)")
        try checkKeys(top, allowed: ["$schema", "$comment", "apps"], path: nil)
        guard let appsValue = top.first(where: { $0.0 == "apps" })?.1 else {
            throw ConfigError(path: "apps", message: "missing: give an object of applications by app id")
        }
        var apps: [AppSettings] = []
        var wildcard: AppSettings?
        for (id, value) in try object(appsValue, "apps") {
            let path = "apps.\(id)"
            guard id == "*" || isValidAppID(id) else {
                // Quoted as JSON so that odd characters cannot garble the message.
                var quoted: [UInt8] = []
                JSONWriter.writeString(String(id.prefix(80)), to: &quoted)
                throw ConfigError(path: "apps[\(String(decoding: quoted, as: UTF8.self))]", message: "invalid app id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (or \"*\" for any app)")
            }
            let settings = try decodeApp(id: id, value, path: path)
            if id == "*" { wildcard = settings } else { apps.append(settings) }
        }
        return AppConfig(apps: apps, wildcard: wildcard)
    }

    static func isValidAppID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || isLetter(byte)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    static func decodeApp(id: String, _ value: JSONValue, path: String) throws(ConfigError) -> AppSettings {
        let members = try object(value, path)
        try checkKeys(members, allowed: appFields, path: path)
        func field(_ name: String) -> JSONValue? { members.first(where: { $0.0 == name })?.1 }

        guard let platformValue = field("platform") else {
            throw ConfigError(path: "\(path).platform", message: "missing: give \"web\", \"mobile\", \"miniprogram\" or \"custom\"")
        }
        guard let platformName = platformValue.stringValue, let platform = Platform(name: platformName) else {
            throw ConfigError(path: "\(path).platform", message: "expected \"web\", \"mobile\", \"miniprogram\" or \"custom\", found \(describe(platformValue))")
        }
        var settings = AppSettings(id: id, isWildcard: id == "*", platform: platform)

        if let value = field("description"), !value.isNull {
            settings.description = try string(value, "\(path).description", maxCharacters: 1024)
        }
        if let value = field("ingestKey"), !value.isNull {
            let key = try string(value, "\(path).ingestKey", maxCharacters: 256)
            guard key.utf8.count >= 8, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ConfigError(path: "\(path).ingestKey", message: "expected 8-256 visible ASCII characters (no spaces), or null for no key")
            }
            settings.ingestKey = key
        }
        if let value = field("allowedOrigins") {
            let entries = try array(value, "\(path).allowedOrigins")
            var origins: [String] = []
            for (index, entry) in entries.enumerated() {
                let entryPath = "\(path).allowedOrigins[\(index)]"
                let origin = try string(entry, entryPath, maxCharacters: 512)
                guard isValidOriginPattern(origin) else {
                    throw ConfigError(path: entryPath, message: "expected \"*\" or an origin such as \"https://shop.example.com\", \"http://localhost:3000\" or \"https://*.example.com\" (scheme and host, no path), found \"\(origin)\"")
                }
                origins.append(origin)
            }
            settings.allowedOrigins = origins
        }
        if let value = field("rateLimit") {
            settings.rateLimit = try decodeRateLimit(value, "\(path).rateLimit")
        }
        if let value = field("scrubQueryParameters"), !value.isNull {
            let entries = try array(value, "\(path).scrubQueryParameters")
            var names: [String] = []
            for (index, entry) in entries.enumerated() {
                let name = try string(entry, "\(path).scrubQueryParameters[\(index)]", maxCharacters: 128)
                guard !name.isEmpty else {
                    throw ConfigError(path: "\(path).scrubQueryParameters[\(index)]", message: "expected a non-empty parameter name")
                }
                names.append(name)
            }
            settings.scrubQueryParameters = names
        }
        if let value = field("rules") {
            settings.rules = try decodeRules(value, platform: platform, path: "\(path).rules")
        }
        return settings
    }

    /// `*`, or `scheme://host[:port]` with an optional `*.` before the host; one trailing `/` is tolerated.
    static func isValidOriginPattern(_ origin: String) -> Bool {
        if origin == "*" { return true }
        var rest = Substring(origin)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let schemeEnd = rest.firstRange(of: "://") else { return false }
        let scheme = rest[..<schemeEnd.lowerBound]
        // RFC 3986: a scheme starts with a letter.
        guard let first = scheme.utf8.first, isLetter(first),
              scheme.utf8.allSatisfy({ isAlphanumeric($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }) else { return false }
        var host = rest[schemeEnd.upperBound...]
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            let port = host[host.index(after: colon)...]
            // Digits only (`Int` alone would take "+80"), at most five as the schema's pattern says.
            guard (1...5).contains(port.utf8.count), port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let number = Int(port), (1...65535).contains(number) else { return false }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return false }
        return host.utf8.allSatisfy { isAlphanumeric($0) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5B || $0 == 0x5D || $0 == 0x3A }
    }

    static func decodeRateLimit(_ value: JSONValue, _ path: String) throws(ConfigError) -> RateLimit? {
        if value.isNull { return nil }
        let members = try object(value, path)
        try checkKeys(members, allowed: ["beaconsPerSecond", "eventsPerSecond", "burst"], path: path)
        let beacons = members.first(where: { $0.0 == "beaconsPerSecond" })?.1
        let events = members.first(where: { $0.0 == "eventsPerSecond" })?.1
        let unit: RateLimit.Unit
        let rateValue: JSONValue
        let ratePath: String
        switch (beacons, events) {
        case (let b?, nil): (unit, rateValue, ratePath) = (.beacons, b, "\(path).beaconsPerSecond")
        case (nil, let e?): (unit, rateValue, ratePath) = (.events, e, "\(path).eventsPerSecond")
        case (nil, nil):
            throw ConfigError(path: path, message: "give beaconsPerSecond or eventsPerSecond (or null for no limit)")
        case (_?, _?):
            throw ConfigError(path: path, message: "give either beaconsPerSecond or eventsPerSecond, not both")
        }
        guard let rate = rateValue.doubleValue, rate > 0, rate <= 10_000_000 else {
            throw ConfigError(path: ratePath, message: "expected a number above 0 and at most 10000000, found \(describe(rateValue))")
        }
        var burst = max(1, Int((rate * 2).rounded(.up)))
        if let burstValue = members.first(where: { $0.0 == "burst" })?.1 {
            burst = Int(try integer(burstValue, "\(path).burst", range: 1...100_000_000, unit: nil))
        }
        return RateLimit(unit: unit, perSecond: rate, burst: burst)
    }

    /// Starts from the platform's defaults; every number given replaces one default.
    static func decodeRules(_ value: JSONValue, platform: Platform, path: String) throws(ConfigError) -> SessionRules {
        var rules = SessionRules.defaults(for: platform)
        let members = try object(value, path)
        try checkKeys(members, allowed: ruleFields, path: path)
        for (name, value) in members {
            let fieldPath = "\(path).\(name)"
            func duration(_ current: Int64?, switchable: Bool) throws(ConfigError) -> Int64? {
                if value.isNull {
                    guard switchable || current == nil else {
                        throw ConfigError(path: fieldPath, message: "cannot be switched off (null) for platform \(platform.name); give a positive integer (ms)")
                    }
                    return nil
                }
                return try integer(value, fieldPath, range: 1...maxMilliseconds, unit: "ms")
            }
            func required() throws(ConfigError) -> Int64 {
                if value.isNull {
                    throw ConfigError(path: fieldPath, message: "cannot be switched off (null); give a positive integer (ms)")
                }
                return try integer(value, fieldPath, range: 1...maxMilliseconds, unit: "ms")
            }
            switch name {
            case "inactivityTimeout":
                // BRIEF: only mobile may switch off inactivity and max duration (a 24 h backstop remains).
                rules.inactivityTimeout = try duration(rules.inactivityTimeout, switchable: platform == .mobile)
            case "maxDuration":
                rules.maxDuration = try duration(rules.maxDuration, switchable: platform == .mobile)
            case "heartbeatTimeout":
                rules.heartbeatTimeout = try duration(rules.heartbeatTimeout, switchable: false)
            case "backgroundTimeout":
                rules.backgroundTimeout = try duration(rules.backgroundTimeout, switchable: false)
            case "backstop":
                rules.backstop = try duration(rules.backstop, switchable: false)
            case "maxActions":
                if value.isNull {
                    guard rules.maxActions == nil else {
                        throw ConfigError(path: fieldPath, message: "cannot be switched off (null) for platform \(platform.name); give a positive integer")
                    }
                } else {
                    rules.maxActions = Int(try integer(value, fieldPath, range: 1...maxActionsLimit, unit: nil))
                }
            case "lateness": rules.lateness = try required()
            case "activeGap": rules.activeGap = try required()
            case "apdexThreshold": rules.apdexThreshold = try required()
            case "maxClockSkew": rules.maxClockSkew = try required()
            case "toleratingFactor":
                rules.toleratingFactor = try integer(value, fieldPath, range: 1...100, unit: nil)
            case "frustratedShare":
                rules.frustratedShare = try share(value, fieldPath)
            case "satisfiedShare":
                rules.satisfiedShare = try share(value, fieldPath)
            default:
                break  // checkKeys already refused unknown names
            }
        }
        return rules
    }

    // MARK: Typed access with paths

    static func object(_ value: JSONValue, _ path: String) throws(ConfigError) -> [(String, JSONValue)] {
        guard let members = value.objectValue else {
            throw ConfigError(path: path, message: "expected an object, found \(describe(value))")
        }
        return members
    }

    static func array(_ value: JSONValue, _ path: String) throws(ConfigError) -> [JSONValue] {
        guard let elements = value.arrayValue else {
            throw ConfigError(path: path, message: "expected an array, found \(describe(value))")
        }
        return elements
    }

    /// `maxCharacters` counts Unicode scalars, as JSON Schema's `maxLength` does (apps.schema.json).
    static func string(_ value: JSONValue, _ path: String, maxCharacters: Int) throws(ConfigError) -> String {
        guard let text = value.stringValue else {
            throw ConfigError(path: path, message: "expected a string, found \(describe(value))")
        }
        guard text.unicodeScalars.count <= maxCharacters else {
            throw ConfigError(path: path, message: "longer than \(maxCharacters) characters (\(text.unicodeScalars.count))")
        }
        return text
    }

    static func integer(_ value: JSONValue, _ path: String, range: ClosedRange<Int64>, unit: String?) throws(ConfigError) -> Int64 {
        let what = range.lowerBound == 1 ? "a positive integer" : "an integer"
        let expected = unit.map { "\(what) (\($0))" } ?? what
        guard let number = value.numberValue else {
            throw ConfigError(path: path, message: "expected \(expected), found \(describe(value))")
        }
        guard number.isInteger, let integer = number.int64Value, integer >= range.lowerBound else {
            throw ConfigError(path: path, message: "expected \(expected), found \(number.text)")
        }
        guard integer <= range.upperBound else {
            throw ConfigError(path: path, message: "\(number.text) is above the maximum of \(range.upperBound)\(unit.map { " \($0)" } ?? "")")
        }
        return integer
    }

    static func share(_ value: JSONValue, _ path: String) throws(ConfigError) -> Double {
        guard let share = value.doubleValue, share > 0, share <= 1 else {
            throw ConfigError(path: path, message: "expected a share above 0 and at most 1 (0.3 means 30 %), found \(describe(value))")
        }
        return share
    }

    static func checkKeys(_ members: [(String, JSONValue)], allowed: [String], path: String?) throws(ConfigError) {
        for (key, _) in members where !allowed.contains(key) {
            let fieldPath = path.map { "\($0).\(key)" } ?? key
            throw ConfigError(path: fieldPath, message: "unknown field (known: \(allowed.joined(separator: ", ")))")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): "a string (\"\(s.prefix(40))\")"
        case .number(let n): "the number \(n.text)"
        default: value.kind.description
        }
    }
}
