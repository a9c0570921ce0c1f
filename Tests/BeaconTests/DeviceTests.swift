import Foundation
import Model
import Testing
import Wire
@testable import Beacon

@Suite struct DeviceRuleListTests {
    @Test func embeddedCopyMatchesTheDataFile() throws {
        try RepoFiles.expectEmbeddedCopyCurrent(data: "devices.txt", generated: "DeviceListData.swift",
                                                constant: "embeddedDeviceList", filter: "DeviceRuleListTests",
                                                embedded: embeddedDeviceList)
    }

    @Test func builtInListParses() {
        let rules = DeviceRules.builtIn
        #expect(rules.browser.count > 30)
        #expect(rules.os.contains { $0.value == "Linux" })
        #expect(Set(rules.device.map(\.value)) == ["tablet", "smartphone", "desktop"])
    }

    @Test func malformedListsAreRefused() {
        #expect(throws: DeviceRules.ListError.ruleBeforeSection(line: 2)) { try DeviceRules(list: "# c\nchrome/ => Chrome\n") }
        #expect(throws: DeviceRules.ListError.unknownSection(line: 1, "engine")) { try DeviceRules(list: "[engine]\n") }
        #expect(throws: DeviceRules.ListError.malformedRule(line: 2)) { try DeviceRules(list: "[os]\nlinux -> Linux\n") }
        #expect(throws: DeviceRules.ListError.malformedRule(line: 2)) { try DeviceRules(list: "[os]\n!linux => Linux\n") }
    }
}

@Suite struct DeviceRulesTests {
    let rules = DeviceRules.builtIn

    @Test func chromeOnLinux() {
        let device = rules.derive("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 Safari/537.36")
        #expect(device == Device(browser: "Chrome", browserVersion: "131.0.6778.85", os: "Linux", deviceType: "desktop"))
    }

    @Test func safariOnIPhoneReadsUnderscoredVersions() {
        let device = rules.derive("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
        #expect(device == Device(browser: "Safari", browserVersion: "17.5", os: "iOS", osVersion: "17.5.1", deviceType: "smartphone"))
    }

    @Test func edgeOnWindowsIsNotChrome() {
        let device = rules.derive("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70")
        #expect(device == Device(browser: "Edge", browserVersion: "131.0.2903.70", os: "Windows", osVersion: "10.0", deviceType: "desktop"))
    }

    @Test func androidPhoneAndTablet() {
        let phone = rules.derive("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36")
        #expect(phone == Device(browser: "Chrome", browserVersion: "131.0.6778.81", os: "Android", osVersion: "14", deviceType: "smartphone"))
        let tablet = rules.derive("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Safari/537.36")
        #expect(tablet.deviceType == "tablet")
        #expect(tablet.os == "Android")
    }

    @Test func unknownAgentDerivesNothing() {
        #expect(rules.derive("curl/8.5.0") == Device())
        #expect(rules.derive("") == Device())
        #expect(rules.derive("\u{00e9}\u{0000}chrome/") == Device(browser: "Chrome"))
    }

    @Test func guardsAndVersionPatterns() throws {
        let custom = try DeviceRules(list: "[browser]\n!beta & fox/ => Fox @ v=\nfox/ => Beta Fox\n[device]\nfox => desktop\n")
        #expect(custom.derive("Fox/1.2 v=3_4.") == Device(browser: "Fox", browserVersion: "3.4", deviceType: "desktop"))
        #expect(custom.derive("Fox/1.2 beta") == Device(browser: "Beta Fox", browserVersion: "1.2", deviceType: "desktop"))
        #expect(custom.derive("Fox/x") == Device(browser: "Fox", deviceType: "desktop"))
    }
}

@Suite struct DeviceCacheTests {
    @Test func repeatsAreHitsAndTheLeastRecentlyUsedGoesFirst() {
        var cache = DeviceCache(capacity: 2)
        var derivations = 0
        func get(_ key: String) -> Device {
            cache.device(for: key) { derivations += 1; return Device(browser: key) }
        }
        #expect(get("a").browser == "a")
        #expect(get("b").browser == "b")
        #expect(get("a").browser == "a")            // hit: a is now the most recent
        #expect(derivations == 2)
        #expect(cache.keysByRecency == ["a", "b"])
        #expect(get("c").browser == "c")            // evicts b
        #expect(cache.keysByRecency == ["c", "a"])
        #expect(cache.count == 2)
        #expect(get("b").browser == "b")            // derived again, evicts a
        #expect(derivations == 4)
        #expect(cache.keysByRecency == ["b", "c"])
        #expect(cache.hits == 1 && cache.misses == 4)
    }

    @Test func staysBoundedUnderManyDistinctAgents() {
        var cache = DeviceCache(capacity: 64)
        for index in 0..<10_000 { _ = cache.device(for: "agent \(index)") { Device(os: String(index)) } }
        #expect(cache.count == 64)
        #expect(cache.keysByRecency.count == 64)
        #expect(cache.keysByRecency.first == "agent 9999")
        #expect(cache.device(for: "agent 9990") { Device() } == Device(os: "9990"))
    }
}

@Suite struct DeviceAdmissionTests {
    static let linuxChrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    func admit(_ body: String, userAgent: String?, ingest: inout BeaconAdmission) -> BeaconResponse {
        Array(body.utf8).withUnsafeBytes { raw in
            ingest.handle(BeaconRequest(body: raw, contentType: "application/json", userAgent: userAgent,
                                        peer: IPAddress("203.0.113.7")!, receivedAt: 1_700_000_006_000, monotonicNow: 0),
                          lookup: { $0 == "native" ? AdmittedApp(platform: .mobile) : AdmittedApp() })
        }
    }

    static func beacon(device: String?, platform: String = "web") -> String {
        let field = device.map { #","device":\#($0)"# } ?? ""
        return #"{"app":"\#(platform == "web" ? "shop" : "native")","platform":"\#(platform)","visitor":"v","sentAt":1700000005000\#(field),"events":[{"id":"a","type":"view","ts":1700000005000,"url":"/"}]}"#
    }

    @Test func aBeaconWithoutDeviceGetsTheDerivedOne() throws {
        var ingest = BeaconAdmission()
        let response = admit(Self.beacon(device: nil), userAgent: Self.linuxChrome, ingest: &ingest)
        let beacon = try #require(response.beacon)
        #expect(beacon.device == Device(browser: "Chrome", browserVersion: "131.0.0.0", os: "Linux", deviceType: "desktop"))
    }

    @Test func clientSentFieldsWin() throws {
        var ingest = BeaconAdmission()
        let sent = #"{"browser":"Brave","os":"Linux","screen":"1280x800"}"#
        let beacon = try #require(admit(Self.beacon(device: sent), userAgent: Self.linuxChrome, ingest: &ingest).beacon)
        // Brave keeps no Chrome version; Linux had none to take; the type was missing.
        #expect(beacon.device == Device(browser: "Brave", os: "Linux", deviceType: "desktop", screen: "1280x800"))
        let full = #"{"browser":"Firefox","browserVersion":"1","os":"Haiku","osVersion":"2","deviceType":"tv"}"#
        let kept = try #require(admit(Self.beacon(device: full), userAgent: Self.linuxChrome, ingest: &ingest).beacon)
        #expect(kept.device == Device(browser: "Firefox", browserVersion: "1", os: "Haiku", osVersion: "2", deviceType: "tv"))
    }

    @Test func repeatedAgentsAreCachedPerAdmission() {
        var ingest = BeaconAdmission(deviceCacheCapacity: 8)
        for _ in 0..<5 { _ = admit(Self.beacon(device: nil), userAgent: Self.linuxChrome, ingest: &ingest) }
        #expect(ingest.deviceCache.misses == 1)
        #expect(ingest.deviceCache.hits == 4)
    }

    @Test func aHugeAgentIsDerivedFromItsBoundedPrefix() throws {
        var ingest = BeaconAdmission()
        let huge = Self.linuxChrome + String(repeating: " x", count: 20_000) + " Firefox/1.0"
        let beacon = try #require(admit(Self.beacon(device: nil), userAgent: huge, ingest: &ingest).beacon)
        #expect(beacon.device?.browser == "Chrome")   // the Firefox token lies past the prefix
        #expect(beacon.userAgent == huge)             // the stored User-Agent is untouched
        #expect(ingest.deviceCache.count == 1)
    }

    @Test func nativeBeaconsDeriveNothing() throws {
        var ingest = BeaconAdmission()
        let native = try #require(admit(Self.beacon(device: nil, platform: "mobile"), userAgent: Self.linuxChrome, ingest: &ingest).beacon)
        #expect(native.device == nil)
        #expect(ingest.deviceCache.count == 0)
    }
}

/// The device rules measured on Matomo's desktop, smartphone and tablet fixtures
/// (`Data/device-detector/devices.tsv.gz`, families as `extract_devices.py` defines them).
/// The goals are those of `Sources/Beacon/README.md`.
@Suite struct DeviceFixtureTests {
    struct Fixture {
        let file, kind, browser, os, deviceType, userAgent: String
    }

    static let fixtures: (header: String, all: [Fixture]) = {
        do {
            let compressed = try Data(contentsOf: URL(fileURLWithPath: RepoFiles.root + "/Tests/BeaconTests/Data/device-detector/devices.tsv.gz"))
            let bytes = try Inflate.inflate(Array(compressed), encoding: .gzip,
                                            limits: InflateLimits(maxInflatedBytes: 64 << 20, maxRatio: 1000))
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            var all: [Fixture] = []
            for line in lines.dropFirst() where !line.isEmpty {
                let f = line.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
                all.append(Fixture(file: f[0], kind: f[1], browser: f[2], os: f[3], deviceType: f[4], userAgent: f.count > 5 ? f[5] : ""))
            }
            return (String(lines.first ?? ""), all)
        } catch {
            fatalError("Data/device-detector/devices.tsv.gz: \(error)")
        }
    }()

    @Test func extractIsComplete() {
        #expect(Self.fixtures.header == "# device-detector 6.5.1: 59 fixture files, 30842 entries")
        #expect(Self.fixtures.all.count == 30842)
        #expect(Set(Self.fixtures.all.map(\.deviceType)).isSuperset(of: ["desktop", "smartphone", "tablet"]))
    }

    func percent(_ label: String, _ pairs: [(expected: String, got: String?)]) -> Double {
        let right = pairs.filter { $0.expected == ($0.got ?? "") }.count
        let value = 100 * Double(right) / Double(max(1, pairs.count))
        print("device rules on device-detector fixtures: \(label): \(right)/\(pairs.count) = \(String(format: "%.2f", value)) %")
        return value
    }

    @Test func accuracyMeetsTheGoals() {
        let rules = DeviceRules.builtIn
        let derived = Self.fixtures.all.map { rules.derive($0.userAgent) }
        let pairs = zip(Self.fixtures.all, derived)
        // The browser is scored where Matomo's client is a browser (an in-app view is not one).
        let browser = percent("browser family", pairs.filter { !$0.0.browser.isEmpty }.map { ($0.0.browser, $0.1.browser) })
        let os = percent("OS family", pairs.map { ($0.0.os, $0.1.os) })
        let type = percent("device type", pairs.map { ($0.0.deviceType, $0.1.deviceType) })
        #expect(browser >= 97)
        #expect(os >= 97)
        #expect(type >= 95)
    }
}
