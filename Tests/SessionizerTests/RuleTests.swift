import Model
import Config
import Sessionizer
import Testing
import Wire

/// One row of the session rules: events (offsets from t0), the watermark, and the expected
/// sessions (event ids, end reason or nil while live) and orphan heartbeats.
struct RuleCase: CustomStringConvertible, Sendable {
    var name: String
    var platform: Platform
    var rules: SessionRules
    var events: [TrackedEvent]
    var watermark: Int64
    var sessions: [[String]]
    var reasons: [EndReason?]
    var orphans: [String] = []
    var continued: [Bool]? = nil

    var description: String { name }

    init(_ name: String, _ platform: Platform, rules: SessionRules? = nil, _ events: [TrackedEvent],
         watermark: Int64, sessions: [[String]], reasons: [EndReason?], orphans: [String] = [],
         continued: [Bool]? = nil) {
        self.name = name
        self.platform = platform
        self.rules = rules ?? SessionRules.defaults(for: platform)
        self.events = events.map { tracked in
            var shifted = tracked
            shifted.event.ts += t0
            return shifted
        }
        self.watermark = t0 + watermark
        self.sessions = sessions
        self.reasons = reasons
        self.orphans = orphans
        self.continued = continued
    }
}

private func actions(_ count: Int, from start: Int64, every step: Int64, prefix: String) -> [TrackedEvent] {
    (0..<count).map { ev("\(prefix)\($0)", .action, at: start + Int64($0) * step, duration: 100) }
}

/// A visitor active every `step` from 0 to `last` (crossing no inactivity timeout), then one
/// view `gap` after `last`: with `last + gap` past the 8 h mark the first session ends
/// max-duration, and the second is a continuation only when `gap` is within the inactivity
/// timeout (BRIEF: the visitor was still active at the cut).
private func busyThenGap(_ platform: Platform, rules: SessionRules? = nil, every step: Int64, last: Int64,
                         gap: Int64, continued: Bool) -> RuleCase {
    let times: [Int64] = Array(stride(from: 0, through: last, by: Int(step))).map { Int64($0) }
    let busy: [TrackedEvent] = times.indices.map { ev("e\($0)", .view, at: times[$0]) }
    return RuleCase("\(platform.name): last event at \(last / minute) min, the next \(gap) ms later: "
                        + (continued ? "continued" : "not continued"), platform, rules: rules,
                    busy + [ev("next", .view, at: last + gap)],
                    watermark: last + gap, sessions: [busy.map { $0.event.id }, ["next"]],
                    reasons: [.maxDuration, nil], continued: [false, continued])
}

private var mobileInactivityOff: SessionRules {
    var rules = SessionRules.defaults(for: .mobile)
    rules.inactivityTimeout = nil
    return rules
}

private var mobileBothOff: SessionRules {
    var rules = SessionRules.defaults(for: .mobile)
    rules.inactivityTimeout = nil
    rules.maxDuration = nil
    return rules
}

let ruleCases: [RuleCase] = [
    // Web
    RuleCase("web: exactly 30 min without an event keeps the session", .web,
             [ev("a", .view, at: 0), ev("b", .action, at: 30 * minute)],
             watermark: 30 * minute, sessions: [["a", "b"]], reasons: [nil]),
    RuleCase("web: 30 min + 1 ms without an event starts a new session", .web,
             [ev("a", .view, at: 0), ev("b", .action, at: 30 * minute + 1)],
             watermark: 30 * minute + 1, sessions: [["a"], ["b"]], reasons: [.inactivity, nil]),
    RuleCase("web: live while the watermark is exactly at the timeout", .web,
             [ev("a", .view, at: 0)], watermark: 30 * minute, sessions: [["a"]], reasons: [nil]),
    RuleCase("web: completed by inactivity once the watermark passes the timeout", .web,
             [ev("a", .view, at: 0)], watermark: 30 * minute + 1, sessions: [["a"]], reasons: [.inactivity]),
    RuleCase("web: client session id changes", .web,
             [ev("a", .view, at: 0, session: "s1"), ev("b", .view, at: minute, session: "s2")],
             watermark: minute, sessions: [["a"], ["b"]], reasons: [.clientSessionChanged, nil]),
    RuleCase("web: an event without client session id stays in the session", .web,
             [ev("a", .view, at: 0, session: "s1"), ev("b", .view, at: minute),
              ev("c", .action, at: 2 * minute, session: "s1")],
             watermark: 2 * minute, sessions: [["a", "b", "c"]], reasons: [nil]),
    RuleCase("web: an event exactly 8 h after the start still belongs", .web,
             (0...24).map { ev("e\($0)", .view, at: Int64($0) * 20 * minute) },
             watermark: 8 * hour, sessions: [(0...24).map { "e\($0)" }], reasons: [nil]),
    RuleCase("web: an event 8 h + 1 ms after the start opens a continuation", .web,
             (0...23).map { ev("e\($0)", .view, at: Int64($0) * 20 * minute) }
                 + [ev("late", .view, at: 8 * hour + 1)],
             watermark: 8 * hour + 1, sessions: [(0...23).map { "e\($0)" }, ["late"]],
             reasons: [.maxDuration, nil], continued: [false, true]),
    RuleCase("web: 200 actions are one session", .web,
             actions(200, from: 0, every: second, prefix: "a"),
             watermark: 200 * second, sessions: [(0..<200).map { "a\($0)" }], reasons: [nil]),
    RuleCase("web: the 201st action starts a continuation; other events stay", .web,
             actions(200, from: 0, every: second, prefix: "a")
                 + [ev("r", .request, at: 200 * second), ev("x", .action, at: 201 * second)],
             watermark: 201 * second, sessions: [(0..<200).map { "a\($0)" } + ["r"], ["x"]],
             reasons: [.maxActions, nil], continued: [false, true]),
    // `continued` only while the visitor was still active at the cut: the case (last
    // event at 7 h 45 min, the next 88 min later), then both sides of the 30 min bound.
    busyThenGap(.web, every: 15 * minute, last: 7 * hour + 45 * minute, gap: 88 * minute, continued: false),
    busyThenGap(.web, every: 15 * minute, last: 7 * hour + 45 * minute, gap: 30 * minute, continued: true),
    busyThenGap(.web, every: 15 * minute, last: 7 * hour + 45 * minute, gap: 30 * minute + 1, continued: false),
    busyThenGap(.web, every: 15 * minute, last: 7 * hour + 45 * minute, gap: 16 * minute, continued: true),
    busyThenGap(.custom, every: 15 * minute, last: 7 * hour + 45 * minute, gap: 30 * minute + 1, continued: false),
    busyThenGap(.mobile, every: 5 * minute, last: 7 * hour + 55 * minute, gap: 10 * minute, continued: true),
    busyThenGap(.mobile, every: 5 * minute, last: 7 * hour + 55 * minute, gap: 10 * minute + 1, continued: false),
    // Inactivity switched off: nothing but the 8 h would have ended the session.
    busyThenGap(.mobile, rules: mobileInactivityOff, every: hour, last: 7 * hour, gap: 5 * hour, continued: true),
    RuleCase("web: a 201st action after 30 min + 1 ms ends the session by inactivity, no continuation", .web,
             actions(200, from: 0, every: second, prefix: "a") + [ev("x", .action, at: 199 * second + 30 * minute + 1)],
             watermark: 199 * second + 30 * minute + 1, sessions: [(0..<200).map { "a\($0)" }, ["x"]],
             reasons: [.inactivity, nil], continued: [false, false]),
    RuleCase("web: end-session ends it at once; the next event starts another", .web,
             [ev("a", .view, at: 0), ev("end", .sessionEnd, at: second), ev("b", .view, at: 2 * second)],
             watermark: 2 * second, sessions: [["a", "end"], ["b"]], reasons: [.explicitEnd, nil]),
    RuleCase("web: a heartbeat alone is an orphan, never a session", .web,
             [ev("h", .heartbeat, at: 0)], watermark: 0, sessions: [], reasons: [], orphans: ["h"]),
    RuleCase("web: a heartbeat after end-session is an orphan", .web,
             [ev("a", .view, at: 0), ev("end", .sessionEnd, at: second), ev("h", .heartbeat, at: 2 * second)],
             watermark: 2 * second, sessions: [["a", "end"]], reasons: [.explicitEnd], orphans: ["h"]),
    RuleCase("web: heartbeats keep a session alive", .web,
             [ev("a", .view, at: 0), ev("h", .heartbeat, at: 20 * minute), ev("b", .action, at: 45 * minute)],
             watermark: 45 * minute, sessions: [["a", "h", "b"]], reasons: [nil]),
    RuleCase("web: a heartbeat after the timeout is an orphan and the next event starts anew", .web,
             [ev("a", .view, at: 0), ev("h", .heartbeat, at: 31 * minute), ev("b", .action, at: 32 * minute)],
             watermark: 32 * minute, sessions: [["a"], ["b"]], reasons: [.inactivity, nil], orphans: ["h"]),
    RuleCase("web: same ts orders by event id", .web,
             [ev("b", .view, at: 0, session: "s2"), ev("a", .view, at: 0, session: "s1")],
             watermark: 0, sessions: [["a"], ["b"]], reasons: [.clientSessionChanged, nil]),

    // Mobile
    RuleCase("mobile: exactly 30 s in background keeps the session", .mobile,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: 10 * second),
              ev("fg", .appForeground, at: 40 * second)],
             watermark: 40 * second, sessions: [["start", "bg", "fg"]], reasons: [nil]),
    RuleCase("mobile: 30 s + 1 ms in background starts a new session", .mobile,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: 10 * second),
              ev("fg", .appForeground, at: 40 * second + 1)],
             watermark: 40 * second + 1, sessions: [["start", "bg"], ["fg"]], reasons: [.background, nil]),
    RuleCase("mobile: background completes the session once the watermark passes 30 s", .mobile,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: 10 * second)],
             watermark: 40 * second + 1, sessions: [["start", "bg"]], reasons: [.background]),
    RuleCase("mobile: events in background within 30 s stay; foreground clears it", .mobile,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: 10 * second),
              ev("r", .request, at: 20 * second), ev("fg", .appForeground, at: 30 * second),
              ev("v", .view, at: 2 * minute)],
             watermark: 2 * minute, sessions: [["start", "bg", "r", "fg", "v"]], reasons: [nil]),
    RuleCase("mobile: process killed and started again", .mobile,
             [ev("s1", .appStart, at: 0), ev("v", .view, at: second), ev("s2", .appStart, at: 5 * second)],
             watermark: 5 * second, sessions: [["s1", "v"], ["s2"]], reasons: [.processRestart, nil]),
    RuleCase("mobile: a fatal error ends the session as a crash", .mobile,
             [ev("s", .appStart, at: 0), ev("boom", .error, at: second, fatal: true),
              ev("again", .appStart, at: 3 * second)],
             watermark: 3 * second, sessions: [["s", "boom"], ["again"]], reasons: [.crash, nil]),
    RuleCase("mobile: a non-fatal error does not end it", .mobile,
             [ev("s", .appStart, at: 0), ev("oops", .error, at: second, fatal: false), ev("v", .view, at: 2 * second)],
             watermark: 2 * second, sessions: [["s", "oops", "v"]], reasons: [nil]),
    RuleCase("mobile: the app asks for a new session", .mobile,
             [ev("s", .appStart, at: 0), ev("new", .sessionStart, at: second)],
             watermark: second, sessions: [["s"], ["new"]], reasons: [.newSessionRequested, nil]),
    RuleCase("mobile: exactly 10 min without an event keeps the session", .mobile,
             [ev("s", .appStart, at: 0), ev("v", .view, at: 10 * minute)],
             watermark: 10 * minute, sessions: [["s", "v"]], reasons: [nil]),
    RuleCase("mobile: 10 min + 1 ms without an event", .mobile,
             [ev("s", .appStart, at: 0), ev("v", .view, at: 10 * minute + 1)],
             watermark: 10 * minute + 1, sessions: [["s"], ["v"]], reasons: [.inactivity, nil]),
    // The last event at 7 h 50 min: 8 h and the 10 min inactivity timeout fall together, the tie
    // names max-duration, and an event after both is no continuation (the visitor was idle).
    RuleCase("mobile: 8 h reached with the inactivity timeout", .mobile,
             (0...47).map { ev("e\($0)", .view, at: Int64($0) * 10 * minute) } + [ev("e48", .view, at: 8 * hour + 1)],
             watermark: 8 * hour + 1, sessions: [(0...47).map { "e\($0)" }, ["e48"]],
             reasons: [.maxDuration, nil], continued: [false, false]),
    RuleCase("mobile: inactivity switched off keeps a quiet session", .mobile, rules: mobileBothOff,
             [ev("s", .appStart, at: 0), ev("v", .view, at: 5 * hour)],
             watermark: 5 * hour, sessions: [["s", "v"]], reasons: [nil]),
    RuleCase("mobile: both switched off, the 24 h backstop still ends a session", .mobile, rules: mobileBothOff,
             (0...4).map { ev("e\($0)", .view, at: Int64($0) * 6 * hour) } + [ev("next", .view, at: 24 * hour + 1)],
             watermark: 24 * hour + 1, sessions: [(0...4).map { "e\($0)" }, ["next"]],
             reasons: [.backstop, nil], continued: [false, false]),
    RuleCase("mobile: the backstop completes a quiet session on the watermark", .mobile, rules: mobileBothOff,
             [ev("s", .appStart, at: 0)], watermark: 24 * hour + 1, sessions: [["s"]], reasons: [.backstop]),

    // Mini program
    RuleCase("mini program: 30 s + 1 ms in background", .miniProgram,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: second),
              ev("fg", .appForeground, at: 31 * second + 1)],
             watermark: 31 * second + 1, sessions: [["start", "bg"], ["fg"]], reasons: [.background, nil]),
    RuleCase("mini program: exactly 30 s in background", .miniProgram,
             [ev("start", .appStart, at: 0), ev("bg", .appBackground, at: second),
              ev("fg", .appForeground, at: 31 * second)],
             watermark: 31 * second, sessions: [["start", "bg", "fg"]], reasons: [nil]),
    RuleCase("mini program: process restart", .miniProgram,
             [ev("a", .appStart, at: 0), ev("b", .appStart, at: minute)],
             watermark: minute, sessions: [["a"], ["b"]], reasons: [.processRestart, nil]),
    RuleCase("mini program: 30 min without an event is the backstop (inactivity)", .miniProgram,
             [ev("a", .appStart, at: 0), ev("b", .view, at: 30 * minute + 1)],
             watermark: 30 * minute + 1, sessions: [["a"], ["b"]], reasons: [.inactivity, nil]),
    RuleCase("mini program: no 8 h limit", .miniProgram,
             (0...20).map { ev("e\($0)", .view, at: Int64($0) * 25 * minute) },
             watermark: 500 * minute, sessions: [(0...20).map { "e\($0)" }], reasons: [nil]),

    // Custom
    RuleCase("custom: without heartbeats only the 30 min inactivity applies", .custom,
             [ev("a", .action, at: 0), ev("b", .action, at: 20 * minute)],
             watermark: 20 * minute, sessions: [["a", "b"]], reasons: [nil]),
    RuleCase("custom: once heartbeats come, exactly 5 min without one keeps it", .custom,
             [ev("a", .action, at: 0), ev("h", .heartbeat, at: 30 * second), ev("b", .action, at: 5 * minute + 30 * second)],
             watermark: 5 * minute + 30 * second, sessions: [["a", "h", "b"]], reasons: [nil]),
    RuleCase("custom: once heartbeats come, 5 min + 1 ms without one ends it", .custom,
             [ev("a", .action, at: 0), ev("h", .heartbeat, at: 30 * second),
              ev("b", .action, at: 5 * minute + 30 * second + 1)],
             watermark: 5 * minute + 30 * second + 1, sessions: [["a", "h"], ["b"]],
             reasons: [.heartbeatTimeout, nil]),
    RuleCase("custom: heartbeat timeout on the watermark", .custom,
             [ev("a", .action, at: 0), ev("h", .heartbeat, at: 30 * second)],
             watermark: 5 * minute + 30 * second + 1, sessions: [["a", "h"]], reasons: [.heartbeatTimeout]),
    RuleCase("custom: session_end", .custom,
             [ev("a", .request, at: 0, status: 200), ev("end", .sessionEnd, at: second)],
             watermark: second, sessions: [["a", "end"]], reasons: [.explicitEnd]),
    RuleCase("custom: session_start opens a new one", .custom,
             [ev("a", .request, at: 0), ev("s", .sessionStart, at: second)],
             watermark: second, sessions: [["a"], ["s"]], reasons: [.newSessionRequested, nil]),
    RuleCase("custom: 8 h reached on the watermark", .custom,
             (0...23).map { ev("e\($0)", .action, at: Int64($0) * 20 * minute) },
             watermark: 8 * hour + 1, sessions: [(0...23).map { "e\($0)" }], reasons: [.maxDuration]),
]

@Suite struct RuleTests {
    @Test(arguments: ruleCases)
    func pureFunction(_ rule: RuleCase) {
        let result = sessionize(rule.events, visitor: "v", platform: rule.platform, rules: rule.rules,
                                watermark: rule.watermark)
        #expect(result.sessions.map { $0.events.map(\.id) } == rule.sessions)
        #expect(result.sessions.map(\.summary.endReason) == rule.reasons)
        #expect(result.sessions.map(\.summary.live) == rule.reasons.map { $0 == nil })
        #expect(result.orphanHeartbeats.map(\.id) == rule.orphans)
        if let continued = rule.continued { #expect(result.sessions.map(\.summary.continued) == continued) }
    }

    /// The engine gives the same sessions one event at a time, in one batch, and in reverse.
    @Test(arguments: ruleCases)
    func engine(_ rule: RuleCase) throws {
        let ordered = rule.events.sorted { $0.key < $1.key }
        for arrival in [ordered.map { [$0] }, [ordered], ordered.reversed().map { [$0] }] {
            var harness = Harness(platform: rule.platform, rules: rule.rules)
            for batch in arrival { try harness.ingest(batch, watermark: rule.watermark - 1) }
            harness.advance(to: rule.watermark)
            let stored = harness.store.sessions(of: "v")
            #expect(stored.map { harness.store.eventIDs(of: $0.id) } == rule.sessions.map { Set($0) })
            #expect(stored.map(\.summary.endReason) == rule.reasons)
            if let continued = rule.continued { #expect(stored.map(\.summary.continued) == continued) }
            #expect(harness.store.orphans == Set(rule.orphans))
            #expect(harness.store.violations.isEmpty)
            #expect(harness.sessionizer.liveSessionCount == rule.reasons.filter { $0 == nil }.count)
        }
    }
}
