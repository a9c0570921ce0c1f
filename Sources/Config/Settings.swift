#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A daemon setting given wrongly: `option` is the flag (`--http`) or the environment variable
/// (`CLICKPATH_HTTP`) it came from.
public struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public var option: String
    public var message: String

    public init(option: String, message: String) {
        self.option = option
        self.message = message
    }

    public var description: String { "\(option): \(message)" }
}

/// One option of a daemon: the flag `--name`, the variable `CLICKPATH_NAME`, a default, a
/// parser that knows its type. Daemons declare theirs as static constants and list them in a
/// `SettingsSpec`.
public struct Setting<Value: Sendable>: Sendable {
    public let name: String
    public let help: String
    public let defaultValue: Value
    /// What the help shows after the flag (`HOST:PORT`, `DURATION`); empty for on/off flags.
    public let valueName: String
    let parse: @Sendable (String) -> Result<Value, Invalid>
    let render: @Sendable (Value) -> String
    let isSwitch: Bool

    /// `CLICKPATH_` and the name in capitals, `-` as `_`: `--shard-id` is `CLICKPATH_SHARD_ID`.
    public var environmentName: String { Setting.environmentName(for: name) }

    static func environmentName(for name: String) -> String {
        "CLICKPATH_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    init(name: String, help: String, defaultValue: Value, valueName: String, isSwitch: Bool = false,
         parse: @escaping @Sendable (String) -> Result<Value, Invalid>,
         render: @escaping @Sendable (Value) -> String) {
        self.name = name
        self.help = help
        self.defaultValue = defaultValue
        self.valueName = valueName
        self.isSwitch = isSwitch
        self.parse = parse
        self.render = render
    }

    /// The same setting with a further check (cross-value rules such as "at least 1ms"); the
    /// check returns a message when the value is refused.
    public func validated(_ check: @escaping @Sendable (Value) -> String?) -> Setting<Value> {
        let parse = self.parse
        return Setting(name: name, help: help, defaultValue: defaultValue, valueName: valueName, isSwitch: isSwitch,
                       parse: { text in
                           parse(text).flatMap { value in
                               if let message = check(value) { return .failure(Invalid(message: message)) }
                               return .success(value)
                           }
                       }, render: render)
    }

    /// For the list of a `SettingsSpec`.
    public var erased: AnySetting {
        let parse = self.parse
        let render = self.render
        return AnySetting(name: name, help: help, valueName: valueName, isSwitch: isSwitch,
                          defaultText: render(defaultValue), defaultValue: defaultValue,
                          parse: { text in parse(text).map { $0 as any Sendable } },
                          render: { value in (value as? Value).map(render) ?? "" })
    }
}

extension Setting where Value == String {
    public static func string(_ name: String, default value: String, valueName: String = "TEXT", help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: valueName,
                parse: { .success($0) }, render: { $0 })
    }

    /// One of a fixed set of words.
    public static func choice(_ name: String, default value: String, choices: [String], help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: choices.joined(separator: "|"),
                parse: { text in
                    choices.contains(text) ? .success(text)
                        : .failure(Invalid(message: "expected one of \(choices.joined(separator: ", ")), got \"\(text)\""))
                }, render: { $0 })
    }
}

extension Setting where Value == String? {
    /// A text or path with no default (nil when not given).
    public static func optionalString(_ name: String, valueName: String = "TEXT", help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: nil, valueName: valueName,
                parse: { .success($0) }, render: { $0 ?? "" })
    }
}

extension Setting where Value == Int {
    public static func int(_ name: String, default value: Int, range: ClosedRange<Int> = Int.min...Int.max,
                           help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "N",
                parse: { text in
                    guard let number = Int(text) else {
                        return .failure(Invalid(message: "expected an integer, got \"\(text)\""))
                    }
                    guard range.contains(number) else {
                        return .failure(Invalid(message: "\(number) is outside \(range.lowerBound)...\(range.upperBound)"))
                    }
                    return .success(number)
                }, render: { String($0) })
    }

    /// A size in bytes: `4096`, `64KiB`, `10MB`, `1GiB`.
    public static func size(_ name: String, default value: Int, range: ClosedRange<Int> = 0...Int.max,
                            help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "SIZE",
                parse: { text in
                    guard let bytes = SettingValues.size(text) else {
                        return .failure(Invalid(message: "expected a size such as 4096, 64KiB, 10MB or 1GiB, got \"\(text)\""))
                    }
                    guard range.contains(bytes) else {
                        return .failure(Invalid(message: "\(text) is outside \(SettingValues.format(size: range.lowerBound))...\(SettingValues.format(size: range.upperBound))"))
                    }
                    return .success(bytes)
                }, render: { SettingValues.format(size: $0) })
    }
}

extension Setting where Value == Int? {
    /// An integer with no default (nil when not given), e.g. a shard id that must be chosen.
    public static func optionalInt(_ name: String, range: ClosedRange<Int> = Int.min...Int.max, help: String) -> Setting {
        let plain = Setting<Int>.int(name, default: 0, range: range, help: help)
        return Setting(name: name, help: help, defaultValue: nil, valueName: "N",
                       parse: { plain.parse($0).map { Optional($0) } }, render: { $0.map(String.init) ?? "" })
    }
}

extension Setting where Value == Duration {
    /// `20ms`, `30s`, `5m`, `3d`, `1h30m`.
    public static func duration(_ name: String, default value: Duration, min: Duration = .zero,
                                max: Duration? = nil, help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "DURATION",
                parse: { text in
                    guard let duration = SettingValues.duration(text) else {
                        return .failure(Invalid(message: "expected a duration such as 500ms, 30s, 5m, 2h, 3d or 1h30m, got \"\(text)\""))
                    }
                    if duration < min {
                        return .failure(Invalid(message: "\(text) is shorter than the minimum of \(SettingValues.format(min))"))
                    }
                    if let max, duration > max {
                        return .failure(Invalid(message: "\(text) is longer than the maximum of \(SettingValues.format(max))"))
                    }
                    return .success(duration)
                }, render: { SettingValues.format($0) })
    }
}

extension Setting where Value == HostPort {
    /// `host:port`, `[::1]:port` or `:port`; port 0 lets the system choose.
    public static func hostPort(_ name: String, default value: HostPort, help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "HOST:PORT",
                parse: { text in
                    guard let address = SettingValues.hostPort(text) else {
                        return .failure(Invalid(message: "expected HOST:PORT (port 0-65535) such as 127.0.0.1:8080, 0.0.0.0:8080 for every interface, [::1]:9000, or :8080 for loopback, got \"\(text)\""))
                    }
                    return .success(address)
                }, render: { $0.description })
    }
}

extension Setting where Value == [HostPort] {
    /// Comma-separated addresses: `10.0.0.1:7000,10.0.0.2:7000`.
    public static func hostPortList(_ name: String, default value: [HostPort], help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "HOST:PORT,...",
                parse: { text in
                    var addresses: [HostPort] = []
                    for entry in SettingValues.list(text) {
                        guard let address = SettingValues.hostPort(entry) else {
                            return .failure(Invalid(message: "expected HOST:PORT entries separated by commas, \"\(entry)\" is not one"))
                        }
                        addresses.append(address)
                    }
                    return .success(addresses)
                }, render: { $0.map(\.description).joined(separator: ",") })
    }
}

extension Setting where Value == [String] {
    /// Comma-separated words (spaces around entries ignored).
    public static func list(_ name: String, default value: [String], valueName: String = "A,B,...", help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: valueName,
                parse: { .success(SettingValues.list($0)) }, render: { $0.joined(separator: ",") })
    }
}

extension Setting where Value == Bool {
    /// An on/off switch: `--name`, `--no-name`, `--name=false`; the variable takes true/false,
    /// 1/0, yes/no, on/off.
    public static func flag(_ name: String, default value: Bool, help: String) -> Setting {
        Setting(name: name, help: help, defaultValue: value, valueName: "", isSwitch: true,
                parse: { text in
                    guard let flag = SettingValues.bool(text) else {
                        return .failure(Invalid(message: "expected true or false, got \"\(text)\""))
                    }
                    return .success(flag)
                }, render: { String($0) })
    }
}

/// Why a value was refused; the caller adds the flag or variable name.
struct Invalid: Error {
    var message: String
}

/// A setting with its type erased, so one list can hold a daemon's options.
public struct AnySetting: Sendable {
    public let name: String
    public let help: String
    public let valueName: String
    public let isSwitch: Bool
    public let defaultText: String
    let defaultValue: any Sendable
    let parse: @Sendable (String) -> Result<any Sendable, Invalid>
    let render: @Sendable (any Sendable) -> String

    public var environmentName: String { Setting<Int>.environmentName(for: name) }
}

/// Where a setting's value came from, for the startup log.
public enum SettingSource: String, Sendable, Hashable {
    case flag, environment, `default`
}

/// The parsed settings of one daemon run.
public struct Settings: Sendable {
    private var values: [String: any Sendable]
    private var sources: [String: SettingSource]
    /// `CLICKPATH_*` variables that name no option of this daemon (likely typos): worth a warning.
    public let unknownEnvironment: [String]
    private let spec: SettingsSpec

    init(values: [String: any Sendable], sources: [String: SettingSource], unknownEnvironment: [String], spec: SettingsSpec) {
        self.values = values
        self.sources = sources
        self.unknownEnvironment = unknownEnvironment
        self.spec = spec
    }

    /// The value of `setting`; its default if the daemon's spec does not list it.
    public subscript<Value>(_ setting: Setting<Value>) -> Value {
        (values[setting.name] as? Value) ?? setting.defaultValue
    }

    public func source<Value>(of setting: Setting<Value>) -> SettingSource {
        sources[setting.name] ?? .default
    }

    /// The value of a setting without default, or an error that says how to give it.
    public func require<Value>(_ setting: Setting<Value?>) throws(SettingsError) -> Value {
        guard let value = self[setting] else {
            throw SettingsError(option: "--\(setting.name)", message: "required: give --\(setting.name) \(setting.valueName) or set \(setting.environmentName)")
        }
        return value
    }

    /// One line per option, `name=value (source)`, for the startup log.
    public var summary: [String] {
        spec.settings.map { setting in
            let source = sources[setting.name] ?? .default
            let text = values[setting.name].map(setting.render) ?? setting.defaultText
            return "\(setting.name)=\(text) (\(source.rawValue))"
        }
    }
}

/// The options of one daemon, and the parser of its command line and environment.
public struct SettingsSpec: Sendable {
    public let program: String
    public let summary: String
    public let settings: [AnySetting]

    public init(program: String, summary: String, settings: [AnySetting]) {
        self.program = program
        self.summary = summary
        self.settings = settings
    }

    /// What `parse` found: settings to run with, or the help text that `--help` asked for.
    public enum Outcome: Sendable {
        case run(Settings)
        case help(String)
    }

    /// Reads `arguments` (without the program name) and `environment`; a flag wins over its
    /// variable, the variable over the default. An empty variable counts as unset.
    public func parse(arguments: [String], environment: [String: String]) throws(SettingsError) -> Outcome {
        var byName: [String: AnySetting] = [:]
        for setting in settings { byName[setting.name] = setting }
        var values: [String: any Sendable] = [:]
        var sources: [String: SettingSource] = [:]
        for setting in settings { values[setting.name] = setting.defaultValue }

        for setting in settings {
            guard let text = environment[setting.environmentName], !text.isEmpty else { continue }
            switch setting.parse(text) {
            case .success(let value):
                values[setting.name] = value
                sources[setting.name] = .environment
            case .failure(let invalid):
                throw SettingsError(option: setting.environmentName, message: invalid.message)
            }
        }

        var given: Set<String> = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { return .help(helpText) }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingsError(option: argument, message: argument.hasPrefix("-")
                    ? "unknown option (options are --name value; see --help)"
                    : "unexpected argument (options are --name value; see --help)")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            var negated = false
            if byName[name] == nil, name.hasPrefix("no-"), let target = byName[String(name.dropFirst(3))], target.isSwitch {
                guard inlineValue == nil else {
                    throw SettingsError(option: "--\(name)", message: "takes no value (use --\(target.name)=false)")
                }
                name = target.name
                negated = true
            }
            guard let setting = byName[name] else {
                if name.hasPrefix("no-"), let target = byName[String(name.dropFirst(3))] {
                    throw SettingsError(option: "--\(name)", message: "--\(target.name) is not an on/off switch; give it a value (\(target.valueName))")
                }
                throw SettingsError(option: "--\(name)", message: "unknown option\(suggestion(for: name)) (see --help)")
            }
            guard given.insert(name).inserted else {
                throw SettingsError(option: "--\(name)", message: "given more than once")
            }
            let text: String
            if negated {
                text = "false"
            } else if let inlineValue {
                text = inlineValue
            } else if setting.isSwitch {
                text = "true"
            } else {
                guard index < arguments.count else {
                    throw SettingsError(option: "--\(name)", message: "needs a value (\(setting.valueName))")
                }
                text = arguments[index]
                index += 1
            }
            switch setting.parse(text) {
            case .success(let value):
                values[name] = value
                sources[name] = .flag
            case .failure(let invalid):
                throw SettingsError(option: "--\(name)", message: invalid.message)
            }
        }

        let known = Set(settings.map(\.environmentName))
        let unknown = environment.keys.filter { $0.hasPrefix("CLICKPATH_") && !known.contains($0) }.sorted()
        return .run(Settings(values: values, sources: sources, unknownEnvironment: unknown, spec: self))
    }

    /// The environment of this process, for `parse` (tests pass their own dictionary instead).
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// Every option with its value, default and variable.
    public var helpText: String {
        var lines = ["Usage: \(program) [options]", "", summary, "",
                     "Every option can also be set by its environment variable; a flag wins over the variable.", ""]
        func column(_ flag: String) -> String {
            "  " + (flag.count < 30 ? flag + String(repeating: " ", count: 30 - flag.count) : flag + "  ")
        }
        for setting in settings {
            let flag = setting.isSwitch ? "--\(setting.name)" : "--\(setting.name) \(setting.valueName)"
            lines.append(column(flag) + setting.help)
            let defaultText = setting.defaultText.isEmpty ? "none" : setting.defaultText
            lines.append(String(repeating: " ", count: 32) + "default \(defaultText), env \(setting.environmentName)"
                         + (setting.isSwitch ? "; --no-\(setting.name) turns it off" : ""))
        }
        lines.append(column("-h, --help") + "Show this help.")
        return lines.joined(separator: "\n") + "\n"
    }

    private func suggestion(for name: String) -> String {
        let best = settings.map { ($0.name, editDistance(name, $0.name)) }.min(by: { $0.1 < $1.1 })
        guard let best, best.1 <= 2 else { return "" }
        return "; did you mean --\(best.0)?"
    }
}

private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
