#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import CollectorCore
import TestSupport

/// Issue 13: the platform of a visitor's sessions depended on which beacon came first. App
/// `shop` is a web app in apps.json; beacon A says `platform: mobile` (views at T and T+11 min),
/// beacon B says `web` (a view at T+5 min). A then B gave two sessions, B then A one. Through a
/// real collector and sessiond, both orders now give the same sessions: A is refused (400, naming
/// both platforms) whichever comes first, and once the client sends A's events as the web app it
/// is, both orders give the one web session of the three views.
@Suite(.serialized) struct PlatformOrderEndToEndTests {
    static let apps = #"{"apps":{"shop":{"platform":"web","rules":{"lateness":3600000}}}}"#

    @Test func beaconsNamingAnotherPlatformGiveTheSameSessionsInEitherOrder() throws {
        guard let (collector, sessiond) = PipelineFaultTests.executables() else { return }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let apps = PipelineFaultTests.writeApps(in: dir, json: Self.apps)
        let shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: apps, extra: ["--tick", "100ms"])
        defer { shard.stop() }
        let front = try CollectorProcess(executable: collector,
                                         arguments: collectorArguments(for: shard, directory: dir.path, apps: apps, ack: .sessiond))
        let run = ScriptRun(collectorPort: front.port, queryPort: shard.httpPort, label: "platform", seed: 0, replay: "")

        let t = nowMilliseconds() - 20 * minute
        let aEvents: [ScriptedEvent] = [
            .init("a1", "view", at: t, #""url":"https://shop.example/home""#),
            .init("a2", "view", at: t + 11 * minute, #""url":"https://shop.example/cart""#),
        ]
        let bEvents: [ScriptedEvent] = [.init("a3", "view", at: t + 5 * minute, #""url":"https://shop.example/catalog""#)]
        let mobile = run.client(app: "shop", platform: "mobile", userAgent: "okhttp/4.12.0", device: #"{"os":"Android"}"#)
        let web = run.browser

        func postA(_ visitor: String) throws {
            let answers = try mobile.post(visitor: visitor, aEvents)
            #expect(answers.map(\.status) == [400], "\(visitor): \(answers.map(\.body))")
            #expect(answers.allSatisfy {
                $0.body.contains(#"beacon platform \"mobile\" does not match the platform \"web\" apps.json gives app \"shop\""#)
            }, "\(answers.map(\.body))")
        }
        func postB(_ visitor: String) throws {
            let answers = try web.post(visitor: visitor, bEvents)
            #expect(answers.map(\.status) == [202] && answers.map(\.accepted) == [1], "\(visitor): \(answers.map(\.body))")
        }
        try postA(run.visitor("ab"))
        try postB(run.visitor("ab"))
        try postB(run.visitor("ba"))
        try postA(run.visitor("ba"))
        for visitor in [run.visitor("ab"), run.visitor("ba")] {
            let settled = run.settle(app: "shop", visitor: visitor, [.init(["a3"], end: nil)])
            #expect(settled.problems.isEmpty, "\(visitor):\n\(settled.problems.joined(separator: "\n"))")
            #expect(settled.sessions.map { $0.summary["platform"] as? String } == ["web"])
        }

        // The client, told why, sends A's events as the web app: one web session, either order.
        try postA(run.visitor("fixed-ab"))
        #expect(try web.post(visitor: run.visitor("fixed-ab"), aEvents).map(\.status) == [202])
        try postB(run.visitor("fixed-ab"))
        try postB(run.visitor("fixed-ba"))
        try postA(run.visitor("fixed-ba"))
        #expect(try web.post(visitor: run.visitor("fixed-ba"), aEvents).map(\.status) == [202])
        var summaries: [NSDictionary] = []
        for visitor in [run.visitor("fixed-ab"), run.visitor("fixed-ba")] {
            let settled = run.settle(app: "shop", visitor: visitor, [.init(["a1", "a3", "a2"], end: nil, counts: ["views": 3])])
            #expect(settled.problems.isEmpty, "\(visitor):\n\(settled.problems.joined(separator: "\n"))")
            #expect(settled.sessions.map { $0.summary["platform"] as? String } == ["web"])
            summaries += settled.sessions.map(\.orderIndependent)
        }
        #expect(summaries.count == 2 && summaries[0] == summaries[1], "both orders give the same session: \(summaries)")
        #expect(front.kill(SIGTERM) == 0)
    }
}

private let minute: Int64 = 60_000
