import Model
import Testing
import Wire
@testable import Beacon

/// Paths of the data files, from this source file's location (tests run from the package).
enum RepoFiles {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // Tests/BeaconTests/BotTests.swift
        return parts.joined(separator: "/")
    }()

    static func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    static func lines(_ relative: String) throws -> [String] {
        try read(relative).split(separator: "\n").map(String.init)
    }

    /// A data file compiled into the binary as a Swift raw string (`constant` in `generated`):
    /// the generated source must be the data file's current copy. `CLICKPATH_REGENERATE=1`
    /// rewrites it; `filter` is the test that does (named in the file's header).
    static func expectEmbeddedCopyCurrent(data: String, generated: String, constant: String, filter: String,
                                          embedded: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let list = try read("Sources/Beacon/" + data)
        #expect(!list.contains("\"\"\"#"), sourceLocation: sourceLocation)
        let expected = "// Generated from \(data) by `CLICKPATH_REGENERATE=1 swift test --filter \(filter)`. Do not edit.\n"
            + "// A test fails when this copy differs from \(data).\n"
            + "let \(constant) = #\"\"\"\n" + list + "\n\"\"\"#\n"   // the last newline is the literal's own
        let path = root + "/Sources/Beacon/" + generated
        if ProcessInfo.processInfo.environment["CLICKPATH_REGENERATE"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let actual = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "\(generated) is stale: run CLICKPATH_REGENERATE=1 swift test --filter \(filter)",
                sourceLocation: sourceLocation)
        #expect(embedded == list, sourceLocation: sourceLocation)
    }
}

import Foundation

@Suite struct BotListTests {
    @Test func embeddedCopyMatchesTheDataFile() throws {
        try RepoFiles.expectEmbeddedCopyCurrent(data: "bots.txt", generated: "BotListData.swift", constant: "embeddedBotList",
                                                filter: "BotListTests", embedded: embeddedBotList)
    }

    @Test func builtInListParses() {
        let matcher = BotMatcher.builtIn
        #expect(matcher.families.map(\.name).contains("headless"))
        #expect(matcher.patterns.count > 200)
    }

    @Test func malformedListsAreRefused() {
        #expect(throws: BotMatcher.ListError.patternBeforeFamily(line: 2)) {
            try BotMatcher(list: "# comment\ngooglebot\n")
        }
        #expect(throws: BotMatcher.ListError.emptyPattern(line: 2)) { try BotMatcher(list: "[x]\n^$\n") }
        #expect(throws: BotMatcher.ListError.unknownOption(line: 1, "web_only")) { try BotMatcher(list: "[x] web_only\nabc\n") }
    }
}

@Suite struct BotMatcherTests {
    let matcher = BotMatcher.builtIn

    func family(_ ua: String, _ platform: Platform = .web) -> String? {
        matcher.match(ua, platform: platform).map { matcher.families[$0].name }
    }

    @Test(arguments: [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "headless"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "search-engine"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "ai-crawler"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "social-preview"),
        ("curl/8.5.0", "http-library"),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "seo"),
        ("SomethingNew/1.0", "other-program"),
        ("", "other-program"),
        ("Thunderbird/115.0 (X11; Linux x86_64)", "other-program"),
        ("Mozilla/5.0 (compatible; ExampleCrawler)", "generic"),
        ("Mozilla/5.0 (Windows NT 10.0) AcmeBot", "generic"),           // `bot$`
    ])
    func recognisesBots(ua: String, expected: String) {
        #expect(family(ua) == expected)
    }

    @Test(arguments: [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
        "Mozilla/5.0 (Linux; Android 10; CUBOT P40) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0]",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0 Mobile Safari/537.36 Instagram 330.0",
        "Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16",
    ])
    func letsBrowsersThrough(ua: String) {
        #expect(family(ua) == nil)
    }

    @Test func libraryUserAgentsAreFineFromNativeApps() {
        #expect(family("okhttp/4.12.0", .mobile) == nil)
        #expect(family("MyShop/5.2 CFNetwork/1490.0.4 Darwin/23.2.0", .mobile) == nil)
        #expect(family("okhttp/4.12.0", .web) == "http-library")
        #expect(family("Googlebot/2.1", .mobile) == "search-engine")
    }

    @Test func caseDoesNotMatter() {
        #expect(family("Mozilla/5.0 HEADLESSCHROME/1") == "headless")
        #expect(family("Mozilla/5.0 headlesschrome/1") == "headless")
    }

    @Test func anchorsAreOnlyAnchors() throws {
        let matcher = try BotMatcher(list: "[a]\n^start\nend$\n")
        #expect(matcher.match("Start here", platform: .web) == 0)
        #expect(matcher.match("not start", platform: .web) == nil)
        #expect(matcher.match("the END", platform: .web) == 0)
        #expect(matcher.match("end here", platform: .web) == nil)
        // Control bytes in a User-Agent cannot fake an anchor.
        #expect(matcher.match("x\u{01}start \u{02}", platform: .web) == nil)
    }

    /// The automaton agrees with a plain substring search over every fixture user agent.
    @Test func automatonAgreesWithNaiveSearch() throws {
        let agents = try RepoFiles.lines("Tests/BeaconTests/Data/crawlers.txt")
            + RepoFiles.lines("Tests/BeaconTests/Data/browsers.txt")
        let plain = matcher.patterns.filter {
            !$0.text.hasPrefix("^") && !$0.text.hasSuffix("$") && !matcher.families[$0.family].webOnly
                && !matcher.families[$0.family].marksBrowser
        }
        for ua in agents {
            let lower = ua.lowercased()
            let naive = plain.contains { lower.contains($0.text) }
            let automatonHit = matcher.match(ua, platform: .mobile) != nil   // no prefix rule on mobile
            if naive { #expect(automatonHit, "\(ua)") }
        }
    }

    /// Recall on crawler-user-agents' instances and false drops on fake-useragent's browsers.
    /// Figures reported in Sources/Beacon/README.md; thresholds guard against regressions when editing the list.
    @Test func recallAndFalseDrops() throws {
        let crawlers = try RepoFiles.lines("Tests/BeaconTests/Data/crawlers.txt")
        let browsers = try RepoFiles.lines("Tests/BeaconTests/Data/browsers.txt")
        #expect(crawlers.count > 2000 && browsers.count > 800)
        func rate(_ agents: [String], _ platform: Platform) -> Double {
            Double(agents.filter { matcher.match($0, platform: platform) != nil }.count) / Double(agents.count)
        }
        let webRecall = rate(crawlers, .web), appRecall = rate(crawlers, .mobile)
        let webFalse = rate(browsers, .web), appFalse = rate(browsers, .mobile)
        print("bots: recall web \(webRecall) app \(appRecall); false drops web \(webFalse) app \(appFalse)")
        #expect(webRecall >= 0.96)
        #expect(appRecall >= 0.83)
        #expect(webFalse <= 0.002)
        #expect(appFalse == 0)
    }

    /// Browser marks never drop; `unmarked` drops only what carries none, and only on the web.
    @Test func browserMarksAndUnmarked() throws {
        let list = try BotMatcher(list: "[crawler]\nbot/\n[browser] browser-mark\n^mozilla/\nnetfront\n[program] web-only non-browser unmarked\n")
        #expect(list.families.map(\.kind) == [.bot, .bot, .nonBrowser])
        #expect(list.match("Mozilla/5.0 (X11)", platform: .web) == nil)
        #expect(list.match("Nokia6300/2.0 Browser/NetFront/3.5", platform: .web) == nil, "a mark anywhere counts")
        #expect(list.match("Mozilla/5.0 (compatible; ExampleBot/1.0)", platform: .web) == 0, "a dropping pattern beats a mark")
        #expect(list.match("Wget/1.21", platform: .web) == 2)
        #expect(list.match("", platform: .web) == 2)
        #expect(list.match("Wget/1.21", platform: .mobile) == nil)
        #expect(list.match("xmozilla/5.0", platform: .web) == 2, "an anchored mark is anchored")
    }

    @Test func countsPerFamily() {
        var counts = BotCounts(familyCount: matcher.families.count)
        for ua in ["curl/8", "wget/1", "Googlebot/2.1"] {
            if let family = matcher.match(ua, platform: .web) { counts.record(family: family) }
        }
        counts.record(family: 10_000)   // out of range: ignored, never traps
        let library = try! #require(matcher.families.firstIndex { $0.name == "http-library" })
        let search = try! #require(matcher.families.firstIndex { $0.name == "search-engine" })
        #expect(counts.dropped[library] == 2)
        #expect(counts.dropped[search] == 1)
        #expect(counts.dropped.reduce(0, +) == 3)
    }
}
