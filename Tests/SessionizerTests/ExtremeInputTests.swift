import Model
import Config
import Sessionizer
import Testing
import Wire

/// Input-derived numbers at their limits never trap: times saturate instead of overflowing.
@Suite struct ExtremeInputTests {
    static let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]

    @Test(arguments: Platform.allCases)
    func extremeTimesAndDurations(platform: Platform) throws {
        var events: [TrackedEvent] = []
        for (index, ts) in ExtremeInputTests.extremes.enumerated() {
            for (offset, duration) in ExtremeInputTests.extremes.enumerated() {
                let type = EventType.allCases[(index + offset) % EventType.allCases.count]
                events.append(ev("e\(index)-\(offset)", type, at: ts, duration: duration, parent: "e\(offset)-\(index)",
                                 status: offset % 2 == 0 ? 0 : Int32.max, fatal: offset == 3))
            }
        }
        events.append(ev("", .view, at: 0, url: "?#"))
        var rules = SessionRules.defaults(for: platform)
        rules.apdexThreshold = .max
        rules.activeGap = .max
        rules.inactivityTimeout = .max
        rules.maxDuration = .max
        for watermark in [Int64.min, 0, .max] {
            let result = sessionize(events, visitor: "v", platform: platform, rules: rules, watermark: watermark)
            #expect(result.sessions.reduce(0) { $0 + $1.events.count } + result.orphanHeartbeats.count == events.count)
            for draft in result.sessions { #expect(draft.summary.duration >= 0) }

            var harness = Harness(platform: platform, rules: rules)
            for event in events { try harness.ingest([event], watermark: watermark) }
            harness.advance(to: watermark)
            let stored = harness.store.sessions(of: "v")
            #expect(stored.map(\.summary) == result.sessions.map(\.summary))
        }
    }
}
