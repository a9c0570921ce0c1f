import Config
@testable import Sessionizer
import Testing
import Wire

/// The hashes that match error children to actions and views live in memory only and are seeded
/// per process, so ids crafted against a fixed public seed cannot make the fast path disagree
/// with the pure function.
@Suite struct ItemSeedTests {
    @Test func theSeedChangesEveryItemHash() {
        for id in ["a", "click-1", "e\u{301}", String(repeating: "x", count: 40)] {
            #expect(Fingerprint.hash(id, seed: 1) != Fingerprint.hash(id, seed: 2))
        }
        #expect(Limits(.defaults(for: .web)).itemSeed == Fingerprint.processSeed)
        #expect(Limits(.defaults(for: .web), itemSeed: 7).itemSeed == 7)
    }

    @Test(arguments: [0 as UInt64, 1, 0xdead_beef_cafe, .max])
    func anyInjectedSeedAgreesWithThePureFunction(itemSeed: UInt64) throws {
        var harness = Harness(platform: .web, itemSeed: itemSeed)
        let events = [ev("a1", .action, at: t0, duration: 100), ev("a2", .action, at: t0 + 1000, duration: 100),
                      ev("x1", .error, at: t0 + 2000, parent: "a2"), ev("x2", .error, at: t0 + 2500, parent: "a4"),
                      ev("a3", .action, at: t0 + 3000, duration: 100), ev("a4", .action, at: t0 + 4000, duration: 100)]
        for event in events { try harness.ingest([event], watermark: t0) }
        let pure = sessionize(events, visitor: "v", platform: .web, rules: harness.rules, watermark: t0)
        #expect(harness.store.sessions(of: "v").map(\.summary) == pure.sessions.map(\.summary))
        #expect(pure.sessions.first?.summary.ratings.frustrated == 2)
    }
}
