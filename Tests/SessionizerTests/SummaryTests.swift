import Model
import Config
import Sessionizer
import Testing
import Wire

private func only(_ events: [TrackedEvent], platform: Platform = .web, rules: SessionRules? = nil,
                  watermark: Int64 = t0) -> SessionSummary? {
    let result = sessionize(events, visitor: "v", platform: platform,
                            rules: rules ?? SessionRules.defaults(for: platform), watermark: watermark)
    #expect(result.sessions.count == 1)
    return result.sessions.first?.summary
}

@Suite struct SummaryTests {
    @Test func durationRunsFromFirstStartToLastEnd() throws {
        let summary = try #require(only([
            ev("a", .view, at: t0, duration: 500),
            ev("b", .request, at: t0 + 1000, duration: 9000),
            ev("c", .action, at: t0 + 2000, duration: 100),
        ]))
        #expect(summary.start == t0)
        #expect(summary.end == t0 + 10_000)
        #expect(summary.duration == 10_000)
    }

    @Test func activeTimeSumsGapsShorterThanTheActiveGap() throws {
        let gap = SessionRules.defaults(for: .web).activeGap
        let summary = try #require(only([
            ev("a", .view, at: t0),
            ev("b", .action, at: t0 + gap - 1),  // counts
            ev("h", .heartbeat, at: t0 + gap + 10), // heartbeats are not activity
            ev("c", .action, at: t0 + 2 * gap - 1), // gap exactly activeGap: not active
            ev("d", .action, at: t0 + 2 * gap + 999), // counts
        ]))
        #expect(summary.activeTime == gap - 1 + 1000)
        #expect(summary.heartbeats == 1)
        #expect(summary.eventCount == 5)
    }

    @Test func countsFailuresSeparatelyFromErrors() throws {
        let summary = try #require(only([
            ev("v", .view, at: t0),
            ev("r1", .request, at: t0 + 1, status: 200),
            ev("r2", .request, at: t0 + 2, status: 399),
            ev("r3", .request, at: t0 + 3, status: 400),
            ev("r4", .request, at: t0 + 4, status: 0),
            ev("r5", .request, at: t0 + 5),
            ev("s1", .resource, at: t0 + 6, status: 404),
            ev("s2", .resource, at: t0 + 7, status: 0),
            ev("s3", .resource, at: t0 + 8, status: 304),
            ev("e1", .error, at: t0 + 9),
            ev("e2", .error, at: t0 + 10, fatal: false),
        ], platform: .mobile))
        #expect(summary.views == 1)
        #expect(summary.requests == 5)
        #expect(summary.failedRequests == 2)
        #expect(summary.resources == 3)
        #expect(summary.failedResources == 2)
        #expect(summary.errors == 2)
        #expect(summary.crashes == 0)
        #expect(summary.healthReasons == HealthReasons(errors: 2, failedRequests: 2, failedResources: 2))
        #expect(summary.health == .abnormal)
    }

    @Test func pagesEntryExitAndBound() throws {
        var events = [
            ev("a", .view, at: t0, url: "https://shop.example/?q=1"),
            ev("b", .view, at: t0 + 1, url: "https://shop.example/cart#top"),
            ev("c", .view, at: t0 + 2, url: "https://shop.example/?q=2"),
            ev("d", .view, at: t0 + 3, name: "Checkout"),
        ]
        for index in 0..<30 { events.append(ev("p\(index)", .view, at: t0 + 10 + Int64(index), url: "/p/\(index)")) }
        events.append(ev("z", .view, at: t0 + 100, url: "/last?x"))
        let summary = try #require(only(events))
        #expect(summary.entryPage == "https://shop.example/")
        #expect(summary.exitPage == "/last")
        #expect(summary.pagesVisited.count == SessionSummary.maxPagesVisited)
        #expect(Array(summary.pagesVisited.prefix(4)) == ["https://shop.example/", "https://shop.example/cart", "Checkout", "/p/0"])
    }

    @Test func identityFields() throws {
        let device = Device(browser: "Firefox", os: "Linux", appVersion: "2.1")
        let summary = try #require(only([
            ev("a", .view, at: t0, session: "s1", device: device),
            ev("b", .action, at: t0 + 1, user: "alice", device: Device(browser: "Other")),
            ev("c", .action, at: t0 + 2, user: "alice@corp"),
            ev("d", .action, at: t0 + 3),
        ]))
        #expect(summary.device == device)
        #expect(summary.appVersion == "2.1")
        #expect(summary.user == "alice@corp")
        #expect(summary.clientSession == "s1")
        #expect(summary.visitor == "v")
        #expect(summary.platform == .web)
    }

    @Test func duplicatesCountOnce() throws {
        let event = ev("a", .action, at: t0, duration: 10)
        let summary = try #require(only([event, event, ev("b", .view, at: t0 + 1), event]))
        #expect(summary.eventCount == 2)
        #expect(summary.actions == 1)
    }

    @Test func previousSessionAndContinuationAreLinked() {
        let events = (0..<201).map { ev("a\($0)", .action, at: t0 + Int64($0), duration: 10) }
        let result = sessionize(events, visitor: "v", platform: .web, rules: .defaults(for: .web), watermark: t0)
        #expect(result.sessions.map(\.summary.continued) == [false, true])
        #expect(result.sessions.map(\.summary.actions) == [200, 1])
    }
}

/// Apdex ratings and session experience (BRIEF formulas, T = 3 s by default).
@Suite struct ExperienceTests {
    struct Row: CustomStringConvertible, Sendable {
        var name: String
        /// Action durations; a negative number means "this action has an error child".
        var durations: [Int64?]
        var crash = false
        var expected: Experience?
        var ratings: RatingCounts?

        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "3000 ms is satisfied", durations: [3000], expected: .satisfied, ratings: RatingCounts(satisfied: 1)),
        Row(name: "3001 ms is tolerating", durations: [3001], expected: .tolerating, ratings: RatingCounts(tolerating: 1)),
        Row(name: "12000 ms (4T) is tolerating", durations: [12_000], expected: .tolerating,
            ratings: RatingCounts(tolerating: 1)),
        Row(name: "12001 ms is frustrated", durations: [12_001], expected: .frustrated,
            ratings: RatingCounts(frustrated: 1)),
        Row(name: "an error child frustrates a fast action", durations: [-1, 100], expected: .frustrated,
            ratings: RatingCounts(satisfied: 1, frustrated: 1)),
        Row(name: "30 % frustrated is frustrated", durations: [13_000, 13_000, 13_000] + Array(repeating: 100, count: 7),
            expected: .frustrated),
        Row(name: "under 30 % frustrated, last fine: tolerating",
            durations: [13_000, 13_000] + Array(repeating: 100, count: 8), expected: .tolerating),
        Row(name: "last rated action frustrated", durations: Array(repeating: 100, count: 9) + [20_000],
            expected: .frustrated),
        Row(name: "last action unrated: the last rated one counts", durations: Array(repeating: 100, count: 9) + [20_000, nil],
            expected: .frustrated),
        Row(name: "none frustrated, half satisfied: satisfied", durations: [100, 100, 5000, 5000], expected: .satisfied),
        Row(name: "none frustrated, under half satisfied: tolerating", durations: [100, 5000, 5000], expected: .tolerating),
        Row(name: "nothing rated: no experience", durations: [nil, nil], expected: nil, ratings: RatingCounts()),
        Row(name: "a crash is frustrated", durations: [100], crash: true, expected: .frustrated),
        Row(name: "a crash with nothing rated is frustrated", durations: [], crash: true, expected: .frustrated),
    ]

    @Test(arguments: rows)
    func sessionExperience(_ row: Row) throws {
        var events: [TrackedEvent] = [ev("start", .appStart, at: t0)]
        for (index, duration) in row.durations.enumerated() {
            let ts = t0 + 1000 * Int64(index + 1)
            let errored = (duration ?? 0) < 0
            events.append(ev("a\(index)", .action, at: ts, duration: errored ? 100 : duration))
            if errored { events.append(ev("err\(index)", .error, at: ts + 1, parent: "a\(index)")) }
        }
        if row.crash { events.append(ev("crash", .error, at: t0 + 100_000, fatal: true)) }
        let summary = try #require(only(events, platform: .mobile))
        #expect(summary.experience == row.expected)
        if let ratings = row.ratings { #expect(summary.ratings == ratings) }
    }

    @Test func failedRequestChildFrustratesAndFailedResourceDoesNot() throws {
        let summary = try #require(only([
            ev("a", .action, at: t0, duration: 100),
            ev("r", .request, at: t0 + 1, parent: "a", status: 0),
            ev("b", .action, at: t0 + 2, duration: 100),
            ev("s", .resource, at: t0 + 3, parent: "b", status: 500),
            ev("c", .action, at: t0 + 4, duration: 100),
            ev("ok", .request, at: t0 + 5, parent: "c", status: 200),
        ]))
        #expect(summary.ratings == RatingCounts(satisfied: 2, frustrated: 1))
        #expect(summary.healthReasons.frustratedActions == 1)
    }

    @Test func childBeforeItsParentStillCounts() throws {
        let summary = try #require(only([
            ev("err", .error, at: t0, parent: "a"),
            ev("a", .action, at: t0 + 5, duration: 100),
            ev("b", .action, at: t0 + 6, duration: 100),
        ]))
        #expect(summary.ratings == RatingCounts(satisfied: 1, frustrated: 1))
    }

    @Test func sessionsWithoutActionsRateViews() throws {
        let summary = try #require(only([
            ev("v1", .view, at: t0, duration: 1000),
            ev("v2", .view, at: t0 + 1, duration: 20_000),
            ev("v3", .view, at: t0 + 2, duration: 2000),
        ]))
        #expect(summary.ratings == RatingCounts(satisfied: 2, frustrated: 1))
        #expect(summary.experience == .frustrated)
        #expect(summary.healthReasons.frustratedActions == 0)
        #expect(summary.health == .tolerable)
    }

    @Test func onceThereIsAnActionViewsAreNotRated() throws {
        let summary = try #require(only([
            ev("v1", .view, at: t0, duration: 20_000),
            ev("a", .action, at: t0 + 1, duration: 100),
            ev("v2", .view, at: t0 + 2, duration: 20_000),
        ]))
        #expect(summary.ratings == RatingCounts(satisfied: 1))
        #expect(summary.experience == .satisfied)
    }

    @Test func toleratingFactorAndSharesAreConfigurable() throws {
        var rules = SessionRules.defaults(for: .web)
        rules.toleratingFactor = 2
        // 6001 ms is frustrated with 2T, tolerating with the default 4T.
        let strict = try #require(only([ev("a", .action, at: t0, duration: 6001)], rules: rules))
        #expect(strict.ratings == RatingCounts(frustrated: 1))
        let events = [ev("a", .action, at: t0, duration: 20_000)]
            + (1...9).map { ev("b\($0)", .action, at: t0 + Int64($0), duration: 100) }
        // 1 of 10 frustrated: tolerating at the default 30 %, frustrated at 10 %.
        #expect(only(events)?.experience == .tolerating)
        rules = SessionRules.defaults(for: .web)
        rules.frustratedShare = 0.1
        #expect(only(events, rules: rules)?.experience == .frustrated)
        // 1 of 3 satisfied: tolerating at the default 50 %, satisfied at 30 %.
        let mixed = [ev("a", .action, at: t0, duration: 100), ev("b", .action, at: t0 + 1, duration: 5000),
                     ev("c", .action, at: t0 + 2, duration: 5000)]
        #expect(only(mixed)?.experience == .tolerating)
        rules = SessionRules.defaults(for: .web)
        rules.satisfiedShare = 0.3
        #expect(only(mixed, rules: rules)?.experience == .satisfied)
    }

    @Test func apdexThresholdIsConfigurable() throws {
        var rules = SessionRules.defaults(for: .web)
        rules.apdexThreshold = 500
        let summary = try #require(only([ev("a", .action, at: t0, duration: 501)], rules: rules))
        #expect(summary.ratings == RatingCounts(tolerating: 1))
    }
}

@Suite struct HealthTests {
    @Test func cleanSessionIsTolerable() throws {
        let summary = try #require(only([ev("a", .action, at: t0, duration: 100),
                                         ev("r", .request, at: t0 + 1, status: 204)]))
        #expect(summary.health == .tolerable)
        #expect(summary.healthReasons == HealthReasons())
    }

    @Test(arguments: [
        (ev("x", .error, at: t0 + 1, fatal: true), HealthReasons(crashes: 1, errors: 1)),
        (ev("x", .error, at: t0 + 1), HealthReasons(errors: 1)),
        (ev("x", .request, at: t0 + 1, status: 503), HealthReasons(failedRequests: 1)),
        (ev("x", .resource, at: t0 + 1, status: 0), HealthReasons(failedResources: 1)),
        (ev("x", .action, at: t0 + 1, duration: 60_000), HealthReasons(frustratedActions: 1)),
    ])
    func eachReasonMakesItAbnormal(_ event: TrackedEvent, _ reasons: HealthReasons) throws {
        let summary = try #require(only([ev("a", .view, at: t0), event], platform: .mobile))
        #expect(summary.health == .abnormal)
        #expect(summary.healthReasons == reasons)
    }
}
