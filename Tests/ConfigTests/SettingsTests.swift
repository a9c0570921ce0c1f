#if canImport(Glibc)
import Glibc
#endif
import Model
import Testing
@testable import Config

/// Options shaped like a daemon's, one of every kind.
enum Sample {
    static let http = Setting.hostPort("http", default: HostPort(host: "0.0.0.0", port: 8080), help: "Where beacons arrive.")
    static let wire = Setting.hostPortList("wire", default: [], help: "sessiond shards to send to.")
    static let apps = Setting.optionalString("apps", valueName: "PATH", help: "The apps.json file.")
    static let data = Setting.string("data", default: "/var/lib/clickpath", valueName: "DIR", help: "Data folder.")
    static let shardID = Setting.optionalInt("shard-id", range: 0...65535, help: "This shard's id.")
    static let spoolMaxAge = Setting.duration("spool-max-age", default: .seconds(3 * 86_400), min: .seconds(1),
                                              help: "Oldest batch ever re-sent.")
    static let maxBody = Setting.size("max-body", default: 1 << 20, range: 1...(16 << 20), help: "Largest body.")
    static let loops = Setting.int("loops", default: 1, range: 1...64, help: "Event loops.")
    static let trustedProxies = Setting.list("trusted-proxies", default: [], valueName: "CIDR,...", help: "Proxies.")
    static let fsync = Setting.flag("fsync", default: true, help: "fsync the spool.")
    static let logFormat = Setting.choice("log-format", default: "text", choices: ["text", "json"], help: "Log format.")
    static let readTimeout = Setting.duration("read-timeout", default: .seconds(10), help: "Read timeout.")
        .validated { $0 <= .seconds(60) ? nil : "at most 1m: a slow client must not hold a connection longer" }

    static let spec = SettingsSpec(program: "collector", summary: "Receives beacons.", settings: [
        http.erased, wire.erased, apps.erased, data.erased, shardID.erased, spoolMaxAge.erased, maxBody.erased,
        loops.erased, trustedProxies.erased, fsync.erased, logFormat.erased, readTimeout.erased,
    ])
}

private func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws(SettingsError) -> Settings {
    switch try Sample.spec.parse(arguments: arguments, environment: environment) {
    case .run(let settings): return settings
    case .help: throw SettingsError(option: "test", message: "unexpected help")
    }
}

@Suite struct SettingsPrecedence {
    @Test func defaultsWhenNothingIsGiven() throws {
        let s = try settings([])
        #expect(s[Sample.http] == HostPort(host: "0.0.0.0", port: 8080))
        #expect(s[Sample.wire] == [])
        #expect(s[Sample.apps] == nil)
        #expect(s[Sample.data] == "/var/lib/clickpath")
        #expect(s[Sample.shardID] == nil)
        #expect(s[Sample.spoolMaxAge] == .seconds(259_200))
        #expect(s[Sample.maxBody] == 1_048_576)
        #expect(s[Sample.loops] == 1)
        #expect(s[Sample.fsync] == true)
        #expect(s[Sample.logFormat] == "text")
        #expect(s.source(of: Sample.http) == .default)
        #expect(s.unknownEnvironment == [])
    }

    @Test func environmentOverridesDefaultAndFlagOverridesEnvironment() throws {
        let env = ["CLICKPATH_HTTP": "127.0.0.1:9000", "CLICKPATH_LOOPS": "4", "CLICKPATH_SHARD_ID": "7",
                   "CLICKPATH_SPOOL_MAX_AGE": "2d", "CLICKPATH_FSYNC": "off"]
        let fromEnv = try settings([], env)
        #expect(fromEnv[Sample.http] == HostPort(host: "127.0.0.1", port: 9000))
        #expect(fromEnv.source(of: Sample.http) == .environment)
        #expect(fromEnv[Sample.loops] == 4)
        #expect(fromEnv[Sample.shardID] == 7)
        #expect(fromEnv[Sample.spoolMaxAge] == .seconds(172_800))
        #expect(fromEnv[Sample.fsync] == false)

        let both = try settings(["--http", ":0", "--loops=2", "--fsync"], env)
        #expect(both[Sample.http] == HostPort(host: "127.0.0.1", port: 0))
        #expect(both.source(of: Sample.http) == .flag)
        #expect(both[Sample.loops] == 2)
        #expect(both[Sample.fsync] == true)
        #expect(both[Sample.shardID] == 7, "untouched by flags, still from the environment")
        #expect(both.source(of: Sample.shardID) == .environment)
    }

    @Test func emptyVariableCountsAsUnset() throws {
        #expect(try settings([], ["CLICKPATH_LOOPS": ""])[Sample.loops] == 1)
    }

    @Test func everyKindFromFlags() throws {
        let s = try settings([
            "--wire", "10.0.0.1:7000, 10.0.0.2:7000,[::1]:7001", "--apps", "/etc/clickpath/apps.json",
            "--data=/tmp/d", "--shard-id", "3", "--max-body", "2MiB", "--trusted-proxies", "10.0.0.0/8, 192.168.0.0/16",
            "--no-fsync", "--log-format", "json", "--spool-max-age=1h30m",
        ])
        #expect(s[Sample.wire] == [HostPort(host: "10.0.0.1", port: 7000), HostPort(host: "10.0.0.2", port: 7000),
                                   HostPort(host: "::1", port: 7001)])
        #expect(s[Sample.apps] == "/etc/clickpath/apps.json")
        #expect(s[Sample.data] == "/tmp/d")
        #expect(try s.require(Sample.shardID) == 3)
        #expect(s[Sample.maxBody] == 2 << 20)
        #expect(s[Sample.trustedProxies] == ["10.0.0.0/8", "192.168.0.0/16"])
        #expect(s[Sample.fsync] == false)
        #expect(s[Sample.logFormat] == "json")
        #expect(s[Sample.spoolMaxAge] == .seconds(5400))
        #expect(s.summary.contains("spool-max-age=1h30m (flag)"))
        #expect(s.summary.contains("max-body=2MiB (flag)"))
        #expect(s.summary.contains("loops=1 (default)"))
    }

    @Test func valueMayStartWithADash() throws {
        let spec = SettingsSpec(program: "t", summary: "", settings: [Setting.int("offset", default: 0, help: "").erased])
        guard case .run(let s) = try spec.parse(arguments: ["--offset", "-5"], environment: [:]) else {
            Issue.record("expected settings")
            return
        }
        #expect(s[Setting.int("offset", default: 0, help: "")] == -5)
    }

    @Test func readsTheProcessEnvironment() throws {
        setenv("CLICKPATH_TEST_PROCESS_ENVIRONMENT", "a=b", 1)
        defer { unsetenv("CLICKPATH_TEST_PROCESS_ENVIRONMENT") }
        #expect(SettingsSpec.processEnvironment()["CLICKPATH_TEST_PROCESS_ENVIRONMENT"] == "a=b")
    }

    @Test func unknownClickpathVariablesAreReported() throws {
        let s = try settings([], ["CLICKPATH_HTPP": "x", "CLICKPATH_LOOPS": "2", "HOME": "/root"])
        #expect(s.unknownEnvironment == ["CLICKPATH_HTPP"])
    }

    @Test func helpListsEveryOptionWithDefaultAndVariable() throws {
        guard case .help(let text) = try Sample.spec.parse(arguments: ["--loops", "2", "--help"], environment: [:]) else {
            Issue.record("expected help")
            return
        }
        #expect(text.hasPrefix("Usage: collector [options]\n\nReceives beacons.\n"))
        for setting in Sample.spec.settings {
            #expect(text.contains("--\(setting.name)"))
            #expect(text.contains("env \(setting.environmentName)"))
        }
        #expect(text.contains("  --http HOST:PORT              Where beacons arrive.\n"))
        #expect(text.contains("default 0.0.0.0:8080, env CLICKPATH_HTTP\n"))
        #expect(text.contains("default 3d, env CLICKPATH_SPOOL_MAX_AGE\n"))
        #expect(text.contains("default 1MiB, env CLICKPATH_MAX_BODY\n"))
        #expect(text.contains("default none, env CLICKPATH_APPS\n"))
        #expect(text.contains("default true, env CLICKPATH_FSYNC; --no-fsync turns it off\n"))
        #expect(text.contains("\n  -h, --help                    Show this help.\n"))
        if case .help = try Sample.spec.parse(arguments: ["-h"], environment: [:]) {} else {
            Issue.record("-h asks for help")
        }
    }
}

@Suite struct SettingsErrors {
    @Test(arguments: [
        (["--htp", "1:1"], "--htp: unknown option; did you mean --http? (see --help)"),
        (["--colour"], "--colour: unknown option (see --help)"),
        (["serve"], "serve: unexpected argument (options are --name value; see --help)"),
        (["-x"], "-x: unknown option (options are --name value; see --help)"),
        (["--"], "--: unknown option (options are --name value; see --help)"),
        (["--http"], "--http: needs a value (HOST:PORT)"),
        (["--http", "8080"], "--http: expected HOST:PORT (port 0-65535) such as 127.0.0.1:8080, 0.0.0.0:8080 for every interface, [::1]:9000, or :8080 for loopback, got \"8080\""),
        (["--http=host:70000"], "--http: expected HOST:PORT (port 0-65535) such as 127.0.0.1:8080, 0.0.0.0:8080 for every interface, [::1]:9000, or :8080 for loopback, got \"host:70000\""),
        (["--loops", "1", "--loops", "2"], "--loops: given more than once"),
        (["--loops", "0"], "--loops: 0 is outside 1...64"),
        (["--loops", "two"], "--loops: expected an integer, got \"two\""),
        (["--shard-id", "70000"], "--shard-id: 70000 is outside 0...65535"),
        (["--spool-max-age", "3 days"], "--spool-max-age: expected a duration such as 500ms, 30s, 5m, 2h, 3d or 1h30m, got \"3 days\""),
        (["--spool-max-age", "0"], "--spool-max-age: 0 is shorter than the minimum of 1s"),
        (["--read-timeout", "2m"], "--read-timeout: at most 1m: a slow client must not hold a connection longer"),
        (["--max-body", "1.5MB"], "--max-body: expected a size such as 4096, 64KiB, 10MB or 1GiB, got \"1.5MB\""),
        (["--max-body", "1GiB"], "--max-body: 1GiB is outside 1...16MiB"),
        (["--wire", "a:1,b"], "--wire: expected HOST:PORT entries separated by commas, \"b\" is not one"),
        (["--fsync=maybe"], "--fsync: expected true or false, got \"maybe\""),
        (["--no-fsync=true"], "--no-fsync: takes no value (use --fsync=false)"),
        (["--no-http"], "--no-http: --http is not an on/off switch; give it a value (HOST:PORT)"),
        (["--log-format", "xml"], "--log-format: expected one of text, json, got \"xml\""),
    ])
    func flagErrorsNameTheFlag(_ arguments: [String], _ message: String) {
        #expect(throws: SettingsError.self) { _ = try settings(arguments) }
        do {
            _ = try settings(arguments)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test(arguments: [
        (["CLICKPATH_HTTP": "nope"], "CLICKPATH_HTTP: expected HOST:PORT (port 0-65535) such as 127.0.0.1:8080, 0.0.0.0:8080 for every interface, [::1]:9000, or :8080 for loopback, got \"nope\""),
        (["CLICKPATH_FSYNC": "sometimes"], "CLICKPATH_FSYNC: expected true or false, got \"sometimes\""),
        (["CLICKPATH_SPOOL_MAX_AGE": "3"], "CLICKPATH_SPOOL_MAX_AGE: expected a duration such as 500ms, 30s, 5m, 2h, 3d or 1h30m, got \"3\""),
    ])
    func environmentErrorsNameTheVariable(_ environment: [String: String], _ message: String) {
        do {
            _ = try settings([], environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func aBadVariableIsAnErrorEvenWhenTheFlagIsGiven() {
        #expect(throws: SettingsError(option: "CLICKPATH_LOOPS", message: "expected an integer, got \"x\"")) {
            _ = try settings(["--loops", "2"], ["CLICKPATH_LOOPS": "x"])
        }
    }

    @Test func requiredSettingSaysHowToGiveIt() throws {
        let s = try settings([])
        #expect(throws: SettingsError(option: "--shard-id", message: "required: give --shard-id N or set CLICKPATH_SHARD_ID")) {
            _ = try s.require(Sample.shardID)
        }
    }
}

@Suite struct SettingValueParsing {
    @Test(arguments: [
        ("0", Duration.zero), ("20ms", .milliseconds(20)), ("30s", .seconds(30)), ("5m", .seconds(300)),
        ("2h", .seconds(7200)), ("3d", .seconds(259_200)), ("1h30m", .seconds(5400)), ("500us", .microseconds(500)),
        ("1µs", .microseconds(1)), ("250ns", .nanoseconds(250)), ("1d2h3m4s5ms", .milliseconds(93_784_005)),
    ])
    func durations(_ text: String, _ expected: Duration) {
        #expect(SettingValues.duration(text) == expected)
        #expect(SettingValues.duration(SettingValues.format(expected)) == expected, "format reads back")
    }

    @Test(arguments: ["", "5", "ms", "1x", "1.5s", "-1s", "1 s", "s1", "106752d", "1h-5m", "9999999999999999999ms"])
    func invalidDurations(_ text: String) {
        #expect(SettingValues.duration(text) == nil)
    }

    @Test(arguments: [
        ("4096", 4096), ("0", 0), ("512B", 512), ("64KiB", 65_536), ("64k", 65_536), ("10MB", 10_000_000),
        ("1GiB", 1 << 30), ("1gib", 1 << 30), ("2G", 2 << 30), ("3TB", 3_000_000_000_000), ("1TiB", 1 << 40),
    ])
    func sizes(_ text: String, _ expected: Int) {
        #expect(SettingValues.size(text) == expected)
        #expect(SettingValues.size(SettingValues.format(size: expected)) == expected, "format reads back")
    }

    @Test(arguments: ["", "GB", "1.5GB", "-1", "1XB", "1 GiB", "99999999999TiB", "99999999999999999999"])
    func invalidSizes(_ text: String) {
        #expect(SettingValues.size(text) == nil)
    }

    @Test(arguments: [
        ("0.0.0.0:8080", HostPort(host: "0.0.0.0", port: 8080)), (":8080", HostPort(host: "127.0.0.1", port: 8080)),
        ("[::]:8080", HostPort(host: "::", port: 8080)),
        ("[::1]:9000", HostPort(host: "::1", port: 9000)), ("localhost:0", HostPort(host: "localhost", port: 0)),
        ("sessiond-0.sessiond:7000", HostPort(host: "sessiond-0.sessiond", port: 7000)),
        ("[fe80::1%eth0]:65535", HostPort(host: "fe80::1%eth0", port: 65535)),
    ])
    func hostPorts(_ text: String, _ expected: HostPort) {
        #expect(SettingValues.hostPort(text) == expected)
    }

    @Test(arguments: ["8080", "host:", "host:65536", "host:-1", "::1:80", "[::1]", "[::1]80", "a b:80", "[]:80", "host:8o"])
    func invalidHostPorts(_ text: String) {
        #expect(SettingValues.hostPort(text) == nil)
    }

    @Test func hostPortPrintsIPv6InBrackets() {
        #expect(HostPort(host: "::1", port: 80).description == "[::1]:80")
        #expect(HostPort(host: "127.0.0.1", port: 80).description == "127.0.0.1:80")
    }

    @Test func listsAndBooleans() {
        #expect(SettingValues.list(" a, b ,,c ") == ["a", "b", "c"])
        #expect(SettingValues.list("") == [])
        for yes in ["true", "1", "yes", "on", "TRUE"] { #expect(SettingValues.bool(yes) == true) }
        for no in ["false", "0", "no", "off", "Off"] { #expect(SettingValues.bool(no) == false) }
        #expect(SettingValues.bool("2") == nil)
    }
}
