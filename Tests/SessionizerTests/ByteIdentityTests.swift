import Config
@testable import Sessionizer
import Testing
import Wire

/// Ids, parents and page names are told apart by their UTF-8 bytes, as the store's UNIQUE
/// indexes do; Swift's `String ==` would merge canonically equivalent spellings.
@Suite struct ByteIdentityTests {
    let composed = "\u{E9}"
    let decomposed = "e\u{301}"

    @Test func canonicallyEquivalentIdsAreTwoEvents() {
        #expect(composed == decomposed)  // the trap: Swift calls them equal
        let events = [ev(composed, .view, at: t0), ev(decomposed, .view, at: t0 + 1000)]
        let result = sessionize(events, visitor: "v", platform: .web, rules: .defaults(for: .web), watermark: t0)
        #expect(result.sessions.count == 1)
        #expect(result.sessions.first?.events.count == 2)
        #expect(result.sessions.first?.summary.eventCount == 2)
        #expect(EventKey(ts: t0, id: composed) != EventKey(ts: t0, id: decomposed))
        #expect(Set([EventKey(ts: t0, id: composed), EventKey(ts: t0, id: decomposed)]).count == 2)
    }

    @Test func anErrorChildOfOneSpellingDoesNotRateTheOther() {
        // The error names the decomposed id as parent; only that action is frustrated.
        let events = [ev(composed, .action, at: t0, duration: 100), ev(decomposed, .action, at: t0 + 1000, duration: 100),
                      ev("err", .error, at: t0 + 2000, parent: decomposed)]
        let result = sessionize(events, visitor: "v", platform: .web, rules: .defaults(for: .web), watermark: t0)
        #expect(result.sessions.first?.summary.ratings.satisfied == 1)
        #expect(result.sessions.first?.summary.ratings.frustrated == 1)
    }

    @Test func canonicallyEquivalentPagesAreTwoPages() {
        let events = [ev("a", .view, at: t0, name: "/caf" + composed), ev("b", .view, at: t0 + 1000, name: "/caf" + decomposed)]
        let result = sessionize(events, visitor: "v", platform: .web, rules: .defaults(for: .web), watermark: t0)
        #expect(result.sessions.first?.summary.pagesVisited.map { Array($0.utf8) }
                    == [Array(("/caf" + composed).utf8), Array(("/caf" + decomposed).utf8)])
    }
}
