import Foundation
import Testing
import Model
@testable import Beacon

/// The bot list measured on every upstream fixture file of Matomo's device-detector (as shipped
/// by the PyPI package `device-detector`, extracted to `Data/device-detector/fixtures.tsv.gz`),
/// one beacon per distinct User-Agent. The goals are those of `Sources/Beacon/README.md`.
@Suite struct BotFixtureTests {
    struct Fixture {
        let file: String
        /// `bot`, or Matomo's client type (`browser`, `mobile app`, `library`...), or `none`.
        let kind: String
        let name: String
        let userAgent: String

        /// Starts like a browser's User-Agent (what a crawler imitating a browser sends).
        var browserLike: Bool {
            let lower = userAgent.lowercased()
            return lower.hasPrefix("mozilla/") || lower.hasPrefix("opera/")
        }
    }

    static let fixtures: (header: String, all: [Fixture]) = {
        do {
            let compressed = try Data(contentsOf: URL(fileURLWithPath: RepoFiles.root + "/Tests/BeaconTests/Data/device-detector/fixtures.tsv.gz"))
            let bytes = try Inflate.inflate(Array(compressed), encoding: .gzip,
                                            limits: InflateLimits(maxInflatedBytes: 64 << 20, maxRatio: 1000))
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            var all: [Fixture] = []
            for line in lines.dropFirst() where !line.isEmpty {
                let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
                all.append(Fixture(file: String(fields[0]), kind: String(fields[1]), name: String(fields[2]),
                                   userAgent: fields.count > 3 ? String(fields[3]) : ""))
            }
            return (String(lines.first ?? ""), all)
        } catch {
            fatalError("Data/device-detector/fixtures.tsv.gz: \(error)")
        }
    }()

    /// One fixture per distinct User-Agent (several files share some), first one kept.
    static func distinct(_ where: (Fixture) -> Bool) -> [Fixture] {
        var seen = Set<String>()
        return fixtures.all.filter { `where`($0) && seen.insert($0.userAgent).inserted }
    }

    let matcher = BotMatcher.builtIn

    func dropped(_ fixtures: [Fixture], _ platform: Platform) -> [Fixture] {
        fixtures.filter { matcher.match($0.userAgent, platform: platform) != nil }
    }

    /// Prints the share dropped and returns it in percent.
    func measure(_ label: String, _ fixtures: [Fixture], _ platform: Platform) -> Double {
        let count = dropped(fixtures, platform).count
        let percent = 100 * Double(count) / Double(max(1, fixtures.count))
        print("bots on device-detector fixtures: \(label): \(count)/\(fixtures.count) dropped = \(String(format: "%.2f", percent)) %")
        return percent
    }

    /// Every fixture file of the package is in the extract, and the header says how many.
    @Test func theExtractHoldsEveryFixtureFile() throws {
        let (header, all) = Self.fixtures
        let files = Set(all.map(\.file))
        let numbers = header.split(separator: " ").compactMap { Int($0) }
        print("bots on device-detector fixtures: \(header)")
        #expect(header.hasPrefix("# device-detector "))
        #expect(numbers == [files.count, all.count], "header: \(header)")
        for file in ["bots.yml", "desktop.yml", "smartphone.yml", "tablet.yml", "mobile_apps.yml", "feed_reader.yml",
                     "mediaplayer.yml", "podcasting.yml", "tv.yml", "clienthints.yml", "clienthints-app.yml", "unknown.yml"] {
            #expect(files.contains(file), "\(file) missing from the extract")
        }
        #expect(files.count >= 80 && all.count > 35_000)
        #expect(Set(all.map(\.kind)).isSuperset(of: ["bot", "browser", "mobile app", "library", "feed reader", "pim"]))
    }

    @Test func webBeacons() {
        let bots = Self.distinct { $0.kind == "bot" }
        let all = measure("web: bots", bots, .web)
        let browserLike = measure("web: bots whose UA starts like a browser's", bots.filter(\.browserLike), .web)
        let browsers = measure("web: browsers (client type browser)", Self.distinct { $0.kind == "browser" }, .web)
        let inApp = measure("web: in-app browsers (other client types with a browser-like UA)",
                            Self.distinct { $0.kind != "bot" && $0.kind != "browser" && $0.browserLike }, .web)
        // By policy, dropped (as non-browser): mail clients, libraries, feed readers, apps' own agents.
        let programs = Self.distinct { $0.kind != "bot" && $0.kind != "browser" && !$0.browserLike }
        _ = measure("web: non-browser clients (other client types, UA not browser-like)", programs, .web)
        #expect(all >= 98)
        #expect(browserLike >= 95)
        #expect(browsers <= 0.3)
        #expect(inApp <= 0.3)
    }

    @Test func mobileBeacons() {
        let bots = measure("mobile: bots", Self.distinct { $0.kind == "bot" }, .mobile)
        let apps = measure("mobile: app UAs (every client type but browser)",
                           Self.distinct { $0.kind != "bot" && $0.kind != "browser" }, .mobile)
        let browsers = measure("mobile: browser UAs (hybrid apps' web views)", Self.distinct { $0.kind == "browser" }, .mobile)
        #expect(bots >= 95)
        #expect(apps <= 0.3)
        #expect(browsers <= 0.3)
    }

    /// Defects found on these fixtures stay fixed.
    @Test(arguments: [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/605.1 NAVER(inapp; search; 1010; 11.17.1; SE3)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.29.149 Chrome/108.0.5359.215 Electron/22.3.5 Safari/537.36",
        "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; i-NavFourF; TuneUp HTML Client Embedded Web Browser from: http://bsalsa.com/; .NET CLR 1.1.4322)",
        "Mozilla/5.0 (Linux; Android 7.0; M bot 54) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.96 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; Spider 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; SM-M015F Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.99 Mobile Safari/537.36 YandexSearch/7.52",
        "UCWEB/2.0 (MIDP-2.0; U; Adr 9; ru; ZTE_Blade_L130RU) U2/1.0.0 UCBrowser/10.7.6.805 U2/1.0.0 Mobile",
        "SonyEricssonJ108i/R1x Browser/NetFront/3.5 Profile/MIDP-2.1 Configuration/CLDC-1.1 JavaPlatform/JP-8.5",
    ])
    func browsersPass(ua: String) {
        #expect(matcher.match(ua, platform: .web) == nil, "\(ua)")
    }

    @Test(arguments: [
        "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0; baidu Transcoder;)",
        "Mozilla/5.0 (compatible; MSIE or Firefox mutant; not on Windows server;) Daumoa/4.0;",
        "Mozilla/5.0 (compatible; Ezooms/1.0; help@moz.com)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko; Google Search Console) Chrome/41.0.2272.118 Safari/537.36",
        "Mozilla/5.0 (compatible; Google-Youtube-Links)",
        "Mozilla/5.0 (compatible; TrendsmapResolver/0.1)",
        "ApacheBench/2.3",
        "Arachni/v1.5.1",
        "Blackbox Exporter/0.24.0",
    ])
    func missedBotsAreDroppedOnEveryPlatform(ua: String) {
        for platform in [Platform.web, .mobile] {
            let family = matcher.match(ua, platform: platform)
            #expect(family.map { matcher.families[$0].kind } == .bot, "\(ua) on \(platform)")
        }
    }
}
