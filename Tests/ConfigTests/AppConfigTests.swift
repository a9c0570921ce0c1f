#if canImport(Glibc)
import Glibc
#endif
import Model
import JSON
import Testing
@testable import Config
import System

/// The repository's root, found from this file's path.
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

private func parse(_ text: String) throws(ConfigError) -> AppConfig {
    try AppConfig.parse(Array(text.utf8))
}

@Suite struct ExampleFile {
    @Test func exampleLoadsWithTheValuesItSays() throws {
        let config = try AppConfig.load(path: repositoryRoot + "/Schemas/apps.example.json")
        #expect(config.apps.keys.sorted() == ["billing-api", "shop", "shop-ios", "shop-mini"])

        let shop = try #require(config.apps["shop"])
        #expect(shop.platform == .web)
        #expect(shop.description == "Web shop, browsers only")
        #expect(shop.ingestKey == nil)
        #expect(shop.allowedOrigins == ["https://shop.example.com", "https://*.shop.example.com", "http://localhost:3000"])
        #expect(shop.rateLimit == RateLimit(unit: .beacons, perSecond: 500, burst: 1000))
        #expect(shop.scrubQueryParameters == ["token", "password", "email", "coupon"])
        var expected = SessionRules.defaults(for: .web)
        expected.inactivityTimeout = 900_000
        expected.maxActions = 300
        expected.apdexThreshold = 2000
        #expect(shop.rules == expected)

        let ios = try #require(config.apps["shop-ios"])
        #expect(ios.platform == .mobile)
        #expect(ios.ingestKey == "ios-4f9c2a7e1b")
        #expect(ios.allowedOrigins == [])
        #expect(ios.rateLimit == RateLimit(unit: .events, perSecond: 5000, burst: 10000))
        #expect(ios.rules.inactivityTimeout == nil)
        #expect(ios.rules.maxDuration == nil)
        #expect(ios.rules.backstop == 24 * hour)
        #expect(ios.rules.backgroundTimeout == 60_000)

        let mini = try #require(config.apps["shop-mini"])
        #expect(mini.rules == SessionRules.defaults(for: .miniProgram))
        #expect(mini.allowedOrigins == ["*"])
        #expect(mini.rateLimit == .default)
        #expect(mini.scrubQueryParameters == nil)

        let billing = try #require(config.apps["billing-api"])
        #expect(billing.platform == .custom)
        #expect(billing.rateLimit == nil)
        #expect(billing.rules.heartbeatTimeout == 120_000)
        #expect(billing.rules.lateness == 3_600_000)
        #expect(billing.rules.toleratingFactor == 3)
        #expect(billing.rules.frustratedShare == 0.25)
        #expect(billing.rules.satisfiedShare == 0.6)
        #expect(billing.rules.inactivityTimeout == 30 * minute)

        let wildcard = try #require(config.wildcard)
        #expect(wildcard.isWildcard)
        #expect(wildcard.rateLimit == RateLimit(unit: .beacons, perSecond: 50, burst: 100))
    }

    /// The schema documents exactly the fields the decoder knows, so they cannot drift apart.
    @Test func schemaNamesTheFieldsTheDecoderKnows() throws {
        let bytes = try #require(try FileIO.readFile(repositoryRoot + "/Schemas/apps.schema.json", limit: 1 << 20))
        let schema = try JSONValue.parse(bytes)
        let defs = try #require(schema["$defs"])
        let appFields = try #require(defs["app"]?["properties"]?.objectValue).map(\.0)
        let ruleFields = try #require(defs["rules"]?["properties"]?.objectValue).map(\.0)
        #expect(Set(appFields) == Set(AppConfigDecoder.appFields))
        #expect(Set(ruleFields) == Set(AppConfigDecoder.ruleFields))
        let topFields = try #require(schema["properties"]?.objectValue).map(\.0)
        #expect(Set(topFields) == ["$schema", "$comment", "apps"])
        // Every example in the schema loads.
        for example in try #require(schema["examples"]?.arrayValue) {
            _ = try AppConfig.parse(Array(example.description.utf8))
        }
    }
}

@Suite struct Admission {
    @Test func wildcardAdmitsAnyAppWithItsSettings() throws {
        let config = try parse(#"{"apps":{"shop":{"platform":"web"},"*":{"platform":"mobile","ingestKey":"abcdefgh"}}}"#)
        guard case .configured(let shop) = config.admit("shop") else {
            Issue.record("shop should be configured")
            return
        }
        #expect(shop.id == "shop" && !shop.isWildcard)
        guard case .wildcard(let other) = config.admit("other-app") else {
            Issue.record("other-app should come in through *")
            return
        }
        #expect(other.id == "other-app")
        #expect(other.isWildcard)
        #expect(other.platform == .mobile)
        #expect(other.ingestKey == "abcdefgh")
        #expect(config.settings(for: "other-app")?.rules == SessionRules.defaults(for: .mobile))
    }

    @Test func withoutWildcardUnknownAppsAreRefusedWithAReason() throws {
        let config = try parse(#"{"apps":{"shop":{"platform":"web"}}}"#)
        #expect(config.settings(for: "nope") == nil)
        #expect(config.admit("nope") == .unknown(reason: "unknown application \"nope\": apps.json has no entry for it and no \"*\" entry"))
    }

    @Test func ingestKeyCheck() {
        let open = AppSettings(id: "a", platform: .web)
        #expect(open.acceptsKey(nil))
        #expect(open.acceptsKey("anything"))
        let locked = AppSettings(id: "a", platform: .web, ingestKey: "secret-key-1")
        #expect(locked.acceptsKey("secret-key-1"))
        #expect(!locked.acceptsKey(nil))
        #expect(!locked.acceptsKey("secret-key-2"))
        #expect(!locked.acceptsKey("secret-key-1x"))
        #expect(!locked.acceptsKey("secret-key-"))
        #expect(!locked.acceptsKey(""))
    }

    @Test func rulesVersionFollowsTheRulesThatCutSessions() throws {
        let config = try parse(#"""
        {"apps":{"a":{"platform":"web"},"b":{"platform":"web","ingestKey":"12345678","rateLimit":null},
                 "c":{"platform":"web","rules":{"inactivityTimeout":60000}},
                 "d":{"platform":"web","rules":{"lateness":60000,"maxClockSkew":1000}},
                 "e":{"platform":"mobile"},
                 "f":{"platform":"web","rules":{"inactivityTimeout":1800000}}}}
        """#)
        let version = { (id: String) in config.apps[id]?.rulesVersion }
        #expect(version("a") == version("b"), "key and rate limit do not cut sessions")
        #expect(version("a") == version("d"), "collector bounds do not cut sessions")
        #expect(version("a") == version("f"), "the default written out is the same rule")
        #expect(version("a") != version("c"))
        #expect(version("a") != version("e"))
        // Stable across runs and builds: a stored session must still match its version later.
        #expect(SessionRules.defaults(for: .web).fingerprint(platform: .web)
                == SessionRules.defaults(for: .web).fingerprint(platform: .web))
        #expect(version("a") == AppSettings(id: "x", platform: .web).rulesVersion)
        var changed = AppSettings(id: "x", platform: .web)
        changed.rules.maxActions = 10
        #expect(changed.rulesVersion != version("a"), "the version follows a changed rule")
        changed.rules.maxActions = 200
        #expect(changed.rulesVersion == version("a"))
    }

    @Test func nullSwitchesOffWhereTheBriefAllows() throws {
        let config = try parse(#"""
        {"apps":{"m":{"platform":"mobile","rules":{"inactivityTimeout":null,"maxDuration":null}},
                 "w":{"platform":"web","rules":{"heartbeatTimeout":null,"backgroundTimeout":null,"backstop":null}},
                 "h":{"platform":"web","rules":{"heartbeatTimeout":60000}}}}
        """#)
        #expect(config.apps["m"]?.rules.inactivityTimeout == nil)
        #expect(config.apps["m"]?.rules.maxDuration == nil)
        #expect(config.apps["m"]?.rules.backstop == 24 * hour, "the backstop still ends a session")
        #expect(config.apps["w"]?.rules == SessionRules.defaults(for: .web))
        #expect(config.apps["h"]?.rules.heartbeatTimeout == 60_000, "a number switches a rule on")
    }
}

@Suite struct ValidationErrors {
    @Test(arguments: [
        // File and structure
        ("[]", "(top level): expected an object, found an array"),
        ("{}", "apps: missing: give an object of applications by app id"),
        (#"{"apps":[]}"#, "apps: expected an object, found an array"),
        (#"{"apps":{},"extra":1}"#, "extra: unknown field (known: $schema, $comment, apps)"),
        (#"{"apps":{"bad id":{"platform":"web"}}}"#, "apps[\"bad id\"]: invalid app id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (or \"*\" for any app)"),
        (#"{"apps":{"a\nb":{"platform":"web"}}}"#, "apps[\"a\\nb\"]: invalid app id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (or \"*\" for any app)"),
        (#"{"apps":{"-x":{"platform":"web"}}}"#, "apps[\"-x\"]: invalid app id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (or \"*\" for any app)"),
        (#"{"apps":{"shop":1}}"#, "apps.shop: expected an object, found the number 1"),
        (#"{"apps":{"shop":{"platform":"web","colour":"red"}}}"#, "apps.shop.colour: unknown field (known: platform, description, ingestKey, allowedOrigins, rateLimit, scrubQueryParameters, rules)"),
        // Platform
        (#"{"apps":{"shop":{}}}"#, "apps.shop.platform: missing: give \"web\", \"mobile\", \"miniprogram\" or \"custom\""),
        (#"{"apps":{"shop":{"platform":"tv"}}}"#, "apps.shop.platform: expected \"web\", \"mobile\", \"miniprogram\" or \"custom\", found a string (\"tv\")"),
        (#"{"apps":{"shop":{"platform":null}}}"#, "apps.shop.platform: expected \"web\", \"mobile\", \"miniprogram\" or \"custom\", found null"),
        // Key, description, origins, scrub list
        (#"{"apps":{"shop":{"platform":"web","ingestKey":"short"}}}"#, "apps.shop.ingestKey: expected 8-256 visible ASCII characters (no spaces), or null for no key"),
        (#"{"apps":{"shop":{"platform":"web","ingestKey":"has a space"}}}"#, "apps.shop.ingestKey: expected 8-256 visible ASCII characters (no spaces), or null for no key"),
        (#"{"apps":{"shop":{"platform":"web","ingestKey":12345678}}}"#, "apps.shop.ingestKey: expected a string, found the number 12345678"),
        (#"{"apps":{"shop":{"platform":"web","description":true}}}"#, "apps.shop.description: expected a string, found a boolean"),
        (#"{"apps":{"shop":{"platform":"web","allowedOrigins":"*"}}}"#, "apps.shop.allowedOrigins: expected an array, found a string (\"*\")"),
        (#"{"apps":{"shop":{"platform":"web","allowedOrigins":["*","shop.example.com"]}}}"#, "apps.shop.allowedOrigins[1]: expected \"*\" or an origin such as \"https://shop.example.com\", \"http://localhost:3000\" or \"https://*.example.com\" (scheme and host, no path), found \"shop.example.com\""),
        (#"{"apps":{"shop":{"platform":"web","allowedOrigins":["https://a.example.com/path"]}}}"#, "apps.shop.allowedOrigins[0]: expected \"*\" or an origin such as \"https://shop.example.com\", \"http://localhost:3000\" or \"https://*.example.com\" (scheme and host, no path), found \"https://a.example.com/path\""),
        (#"{"apps":{"shop":{"platform":"web","allowedOrigins":["http://localhost:99999"]}}}"#, "apps.shop.allowedOrigins[0]: expected \"*\" or an origin such as \"https://shop.example.com\", \"http://localhost:3000\" or \"https://*.example.com\" (scheme and host, no path), found \"http://localhost:99999\""),
        (#"{"apps":{"shop":{"platform":"web","scrubQueryParameters":["token",""]}}}"#, "apps.shop.scrubQueryParameters[1]: expected a non-empty parameter name"),
        (#"{"apps":{"shop":{"platform":"web","scrubQueryParameters":{}}}}"#, "apps.shop.scrubQueryParameters: expected an array, found an object"),
        // Rate limit
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{}}}}"#, "apps.shop.rateLimit: give beaconsPerSecond or eventsPerSecond (or null for no limit)"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"beaconsPerSecond":1,"eventsPerSecond":1}}}}"#, "apps.shop.rateLimit: give either beaconsPerSecond or eventsPerSecond, not both"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"beaconsPerSecond":0}}}}"#, "apps.shop.rateLimit.beaconsPerSecond: expected a number above 0 and at most 10000000, found the number 0"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"eventsPerSecond":"fast"}}}}"#, "apps.shop.rateLimit.eventsPerSecond: expected a number above 0 and at most 10000000, found a string (\"fast\")"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"beaconsPerSecond":10,"burst":0}}}}"#, "apps.shop.rateLimit.burst: expected a positive integer, found 0"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"beaconsPerSecond":10,"burst":2.5}}}}"#, "apps.shop.rateLimit.burst: expected a positive integer, found 2.5"),
        (#"{"apps":{"shop":{"platform":"web","rateLimit":{"beaconsPerSecond":10,"bursts":5}}}}"#, "apps.shop.rateLimit.bursts: unknown field (known: beaconsPerSecond, eventsPerSecond, burst)"),
        // Rules
        (#"{"apps":{"shop":{"platform":"web","rules":[]}}}"#, "apps.shop.rules: expected an object, found an array"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":"30m"}}}}"#, "apps.shop.rules.inactivityTimeout: expected a positive integer (ms), found a string (\"30m\")"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":-1}}}}"#, "apps.shop.rules.inactivityTimeout: expected a positive integer (ms), found -1"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":0}}}}"#, "apps.shop.rules.inactivityTimeout: expected a positive integer (ms), found 0"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":1.5}}}}"#, "apps.shop.rules.inactivityTimeout: expected a positive integer (ms), found 1.5"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":99999999999999999999}}}}"#, "apps.shop.rules.inactivityTimeout: expected a positive integer (ms), found 99999999999999999999"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"maxDuration":31622400001}}}}"#, "apps.shop.rules.maxDuration: 31622400001 is above the maximum of 31622400000 ms"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimeout":null}}}}"#, "apps.shop.rules.inactivityTimeout: cannot be switched off (null) for platform web; give a positive integer (ms)"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"maxDuration":null}}}}"#, "apps.shop.rules.maxDuration: cannot be switched off (null) for platform web; give a positive integer (ms)"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"maxActions":null}}}}"#, "apps.shop.rules.maxActions: cannot be switched off (null) for platform web; give a positive integer"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"maxActions":0}}}}"#, "apps.shop.rules.maxActions: expected a positive integer, found 0"),
        (#"{"apps":{"app":{"platform":"custom","rules":{"heartbeatTimeout":null}}}}"#, "apps.app.rules.heartbeatTimeout: cannot be switched off (null) for platform custom; give a positive integer (ms)"),
        (#"{"apps":{"app":{"platform":"mobile","rules":{"backstop":null}}}}"#, "apps.app.rules.backstop: cannot be switched off (null) for platform mobile; give a positive integer (ms)"),
        (#"{"apps":{"app":{"platform":"miniprogram","rules":{"backgroundTimeout":null}}}}"#, "apps.app.rules.backgroundTimeout: cannot be switched off (null) for platform miniprogram; give a positive integer (ms)"),
        (#"{"apps":{"app":{"platform":"miniprogram","rules":{"inactivityTimeout":null}}}}"#, "apps.app.rules.inactivityTimeout: cannot be switched off (null) for platform miniprogram; give a positive integer (ms)"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"lateness":null}}}}"#, "apps.shop.rules.lateness: cannot be switched off (null); give a positive integer (ms)"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"apdexThreshold":false}}}}"#, "apps.shop.rules.apdexThreshold: expected a positive integer (ms), found a boolean"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"activeGap":0}}}}"#, "apps.shop.rules.activeGap: expected a positive integer (ms), found 0"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"maxClockSkew":-5}}}}"#, "apps.shop.rules.maxClockSkew: expected a positive integer (ms), found -5"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"toleratingFactor":101}}}}"#, "apps.shop.rules.toleratingFactor: 101 is above the maximum of 100"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"frustratedShare":30}}}}"#, "apps.shop.rules.frustratedShare: expected a share above 0 and at most 1 (0.3 means 30 %), found the number 30"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"satisfiedShare":0}}}}"#, "apps.shop.rules.satisfiedShare: expected a share above 0 and at most 1 (0.3 means 30 %), found the number 0"),
        (#"{"apps":{"shop":{"platform":"web","rules":{"inactivityTimout":1000}}}}"#, "apps.shop.rules.inactivityTimout: unknown field (known: inactivityTimeout, heartbeatTimeout, maxDuration, maxActions, backgroundTimeout, backstop, lateness, activeGap, apdexThreshold, maxClockSkew, toleratingFactor, frustratedShare, satisfiedShare)"),
        // Strict JSON, located by line and column
        ("{\"apps\":{\n  \"shop\":{\"platform\":\"web\",}\n}}", "apps.json: line 2, column 28 (byte 37): expected a key after ',' (no trailing commas), found '}'"),
        (#"{"apps":{"shop":{"platform":"web"},"shop":{"platform":"web"}}}"#, "apps.json: line 1, column 36 (byte 35): duplicate key \"shop\""),
        ("{\"apps\":{} // comment\n}", "apps.json: line 1, column 12 (byte 11): expected ',' or '}' after an object member, found '/'"),
    ])
    func errorNamesTheField(_ text: String, _ message: String) {
        #expect(throws: ConfigError.self) { _ = try parse(text) }
        do {
            _ = try parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func missingFileIsNamed() {
        let path = repositoryRoot + "/Schemas/no-such-apps.json"
        #expect(throws: ConfigError(path: path, message: "cannot open: No such file or directory")) {
            _ = try AppConfig.load(path: path)
        }
    }

    @Test func storeKeepsTheOldConfigWhenAReloadFails() throws {
        let path = "/tmp/clickpath-config-test-\(UInt64.random(in: 0...UInt64.max)).json"
        defer { _ = path.withCString { unlink($0) } }
        try writeFile(path, #"{"apps":{"a":{"platform":"web"}}}"#)
        let store = try AppConfigStore(path: path)
        #expect(store.current.apps.keys.sorted() == ["a"])

        try writeFile(path, #"{"apps":{"a":{"platform":"web"},"b":{"platform":"mobile"}}}"#)
        let fresh = try store.reload()
        #expect(fresh.apps.keys.sorted() == ["a", "b"])
        #expect(store.current == fresh)

        try writeFile(path, #"{"apps":{"a":{"platform":"web",}}}"#)
        #expect(throws: ConfigError.self) { try store.reload() }
        #expect(store.current == fresh, "a broken file leaves the last good config in force")
    }
}

struct WriteFailure: Error {}

func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw WriteFailure() }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw WriteFailure() }
}

/// The origin grammar and string lengths follow `Schemas/apps.schema.json`.
@Suite struct AppConfigFollowsTheSchema {
    @Test(arguments: [
        ("https://shop.example.com", true),
        ("http://localhost:3000", true),
        ("http://localhost:00080", true),   // five digits: the schema's pattern allows it
        ("https://*.example.com", true),
        ("web+app://x.example", true),
        ("9ttp://shop.example.com", false),  // a scheme starts with a letter
        ("+http://shop.example.com", false),
        ("http://localhost:+80", false),     // Int("+80") would take it
        ("http://localhost:000080", false),  // more than five digits
        ("http://localhost:-1", false),
        ("http://localhost:", false),
        ("http://localhost:0", false),
        ("http://localhost:65536", false),
    ])
    func originPattern(origin: String, valid: Bool) {
        #expect(AppConfigDecoder.isValidOriginPattern(origin) == valid)
    }

    @Test func descriptionCountsCharactersNotBytes() throws {
        // 'é' is two UTF-8 bytes: the limit is in characters, as JSON Schema's maxLength.
        let atLimit = String(repeating: "é", count: 1024)
        let config = try AppConfig.parse(Array(#"{"apps":{"shop":{"platform":"web","description":"\#(atLimit)"}}}"#.utf8))
        #expect(config.apps["shop"]?.description == atLimit)
        let result = Result { () throws(ConfigError) in
            try AppConfig.parse(Array(#"{"apps":{"shop":{"platform":"web","description":"\#(atLimit)x"}}}"#.utf8))
        }
        guard case .failure(let error) = result else { Issue.record("accepted 1025 characters"); return }
        #expect(error.description == "apps.shop.description: longer than 1024 characters (1025)")
    }

    @Test func scrubParameterNamesCountCharacters() throws {
        let atLimit = String(repeating: "ü", count: 128)
        let config = try AppConfig.parse(Array(#"{"apps":{"shop":{"platform":"web","scrubQueryParameters":["\#(atLimit)"]}}}"#.utf8))
        #expect(config.apps["shop"]?.scrubQueryParameters == [atLimit])
        let result = Result { () throws(ConfigError) in
            try AppConfig.parse(Array(#"{"apps":{"shop":{"platform":"web","scrubQueryParameters":["\#(atLimit)x"]}}}"#.utf8))
        }
        guard case .failure(let error) = result else { Issue.record("accepted 129 characters"); return }
        #expect(error.description == "apps.shop.scrubQueryParameters[0]: longer than 128 characters (129)")
    }
}
