import Model
import Config
import Sessionizer
import Testing
import Wire

private func padded(_ number: Int, _ width: Int) -> String {
    let digits = String(number)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// The incremental engine's decisions: ids, revisions, merges, splits, completion, recovery.
@Suite struct EngineTests {
    @Test func lateEventBridgesTwoSessionsIntoOne() throws {
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0)], watermark: t0)
        try harness.ingest([ev("c", .view, at: t0 + 31 * minute)], watermark: t0 + 31 * minute)
        let before = harness.store.sessions(of: "v")
        #expect(before.count == 2)
        #expect(before[0].summary.endReason == .inactivity)
        #expect(before[1].previousSessionId == before[0].id)
        let (first, second) = (before[0], before[1])

        // Arrives 11 min late, within the web's 15 min lateness.
        try harness.ingest([ev("b", .action, at: t0 + 20 * minute)], watermark: t0 + 31 * minute)
        let after = harness.store.sessions(of: "v")
        #expect(after.count == 1)
        #expect(after[0].id == first.id, "the earlier session's id survives")
        #expect(after[0].revision == first.revision + 1)
        #expect(after[0].summary.live)
        #expect(after[0].summary.endReason == nil)
        #expect(harness.store.retired[second.id] == first.id, "the later id answers with mergedInto")
        #expect(harness.store.eventIDs(of: first.id) == ["a", "b", "c"])
        #expect(harness.sessionizer.liveSessionCount == 1)
    }

    @Test func lateSessionEndSplitsASessionAndKeepsTheFirstId() throws {
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0), ev("c", .view, at: t0 + 2 * minute)], watermark: t0 + 2 * minute)
        let id = try #require(harness.store.sessions(of: "v").first?.id)
        try harness.ingest([ev("end", .sessionEnd, at: t0 + minute)], watermark: t0 + 2 * minute)
        let after = harness.store.sessions(of: "v")
        #expect(after.map(\.summary.endReason) == [.explicitEnd, nil])
        #expect(after[0].id == id)
        #expect(after[1].previousSessionId == id)
        #expect(harness.store.eventIDs(of: after[1].id) == ["c"])
        #expect(harness.store.retired.isEmpty)
    }

    @Test func lateActionMovesThe200ActionSplit() throws {
        var harness = Harness(platform: .web)
        let early = (0..<201).map { ev("a" + padded($0, 3), .action, at: t0 + 10 + Int64($0), duration: 10) }
        try harness.ingest(early, watermark: t0 + 300)
        var sessions = harness.store.sessions(of: "v")
        #expect(sessions.map(\.summary.actions) == [200, 1])
        #expect(harness.store.eventIDs(of: sessions[1].id) == ["a200"])
        let secondID = sessions[1].id

        try harness.ingest([ev("first", .action, at: t0, duration: 10)], watermark: t0 + 300)
        sessions = harness.store.sessions(of: "v")
        #expect(sessions.map(\.summary.actions) == [200, 2])
        #expect(harness.store.eventIDs(of: sessions[1].id) == ["a199", "a200"])
        #expect(sessions[1].id == secondID, "the second session keeps its id: it still holds its first event")
        #expect(sessions[1].summary.continued)
        #expect(sessions[0].summary.endReason == .maxActions)
    }

    @Test func lateEventMovesThe8HourSplit() throws {
        var rules = SessionRules.defaults(for: .web)
        rules.lateness = 24 * hour
        var harness = Harness(platform: .web, rules: rules)
        let events = (1...25).map { ev("e" + padded($0, 2), .view, at: t0 + Int64($0) * 20 * minute) }
        for event in events { try harness.ingest([event], watermark: event.event.ts) }
        // 20 min .. 8 h 20 min: the last event is exactly 8 h after the first, same session.
        #expect(harness.store.sessions(of: "v").count == 1)
        // An event at t0 arrives 8 h 20 min late (lateness configured to 24 h): the 8 h window
        // now starts at t0 and the last event falls out.
        try harness.ingest([ev("e00", .view, at: t0)], watermark: t0 + 10 * minute)
        let sessions = harness.store.sessions(of: "v")
        #expect(sessions.map(\.summary.endReason) == [.maxDuration, nil])
        #expect(harness.store.eventIDs(of: sessions[1].id) == ["e25"])
    }

    @Test func watermarkAloneCompletesSessionsOnce() throws {
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0)], visitor: "v1", watermark: t0)
        try harness.ingest([ev("b", .view, at: t0 + minute)], visitor: "v2", watermark: t0 + minute)
        try harness.ingest([ev("c", .view, at: t0 + 2 * minute)], visitor: "v1", watermark: t0 + 2 * minute)
        #expect(harness.sessionizer.advance(to: t0 + 31 * minute).isEmpty, "v2 times out at exactly 31 min: still live")
        let updates = harness.sessionizer.advance(to: t0 + 31 * minute + 1)
        #expect(updates.map(\.visitor) == ["v2"])
        #expect(updates.first?.upserts.first?.summary.endReason == .inactivity)
        #expect(updates.first?.upserts.first?.revision == 2)
        for update in updates { harness.store.apply(update) }
        #expect(harness.sessionizer.liveSessionCount == 1)
        let later = harness.sessionizer.advance(to: t0 + 40 * minute)
        #expect(later.map(\.visitor) == ["v1"], "v1's deadline moved to 32 min by its second event")
        #expect(harness.sessionizer.advance(to: t0 + 50 * hour).isEmpty)
        #expect(harness.sessionizer.liveSessionCount == 0)
    }

    @Test func userTagLinksTheVisitor() throws {
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0)], watermark: t0)
        try harness.ingest([ev("b", .view, at: t0 + hour)], watermark: t0 + hour)
        let fresh = harness.store.insert(visitor: "v", [ev("c", .action, at: t0 + hour + 1, user: "alice")])
        let update = try harness.sessionizer.ingest(app: "app", visitor: "v", platform: .web, rules: harness.rules,
                                                    events: fresh, watermark: t0 + hour + 1, history: harness.store)
        #expect(update.userTags == ["alice"])
        #expect(update.upserts.last?.summary.user == "alice")
    }

    @Test func resumeRebuildsLiveStateWithoutChanges() throws {
        var harness = Harness(platform: .custom)
        try harness.ingest([ev("a", .action, at: t0, duration: 100), ev("h", .heartbeat, at: t0 + 30 * second)],
                           watermark: t0 + 30 * second)
        let before = harness.store.sessions(of: "v")

        // A restart: a new engine over the same store.
        var restarted = Sessionizer(ids: SplitMix64(seed: 99))
        let update = try restarted.resume(app: "app", visitor: "v", platform: .custom, rules: harness.rules,
                                          history: harness.store)
        #expect(update.isEmpty)
        #expect(restarted.liveSessionCount == 1)
        let completions = restarted.advance(to: t0 + 30 * second + 5 * minute + 1)
        #expect(completions.first?.upserts.first?.id == before.first?.id)
        #expect(completions.first?.upserts.first?.summary.endReason == .heartbeatTimeout)
        #expect(completions.first?.upserts.first?.revision == (before.first?.revision ?? 0) + 1)
    }

    @Test func fastPathReadsNoHistory() throws {
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0)], watermark: t0)
        let reads = harness.store.historyReads
        for index in 1...50 {
            try harness.ingest([ev("x\(index)", .action, at: t0 + Int64(index) * second, duration: 10)],
                               watermark: t0 + Int64(index) * second)
        }
        #expect(harness.store.historyReads == reads)
        #expect(harness.sessionizer.stats.fastPath == 50)
        #expect(harness.store.sessions(of: "v").first?.revision == 51)
    }

    @Test func returningVisitorDoesNotReadThePreviousVisitBack() throws {
        var harness = Harness(platform: .web)
        try harness.ingest((0..<20).map { ev("a\($0)", .action, at: t0 + Int64($0) * second, duration: 10) },
                           watermark: t0 + 20 * second)
        harness.advance(to: t0 + hour)
        let first = try #require(harness.store.sessions(of: "v").first)
        #expect(first.summary.endReason == .inactivity)
        try harness.ingest([ev("b", .view, at: t0 + 2 * hour)], watermark: t0 + 2 * hour)
        #expect(harness.store.lastReadFrom == EventKey(ts: t0 + 2 * hour, id: "b"))
        let sessions = harness.store.sessions(of: "v")
        #expect(sessions.count == 2)
        #expect(sessions.last?.previousSessionId == first.id)
        #expect(sessions.first == first, "the previous visit is unchanged")

        // Within the inactivity bound of the previous visit it is read back: a late event 29 min
        // after its last one joins it (and it becomes live again until 59 min).
        var again = Harness(platform: .web)
        try again.ingest([ev("a", .view, at: t0)], watermark: t0)
        again.advance(to: t0 + 31 * minute)
        try again.ingest([ev("late", .view, at: t0 + 29 * minute)], watermark: t0 + 31 * minute)
        #expect(again.store.lastReadFrom == EventKey(ts: t0, id: "a"))
        #expect(again.store.sessions(of: "v").count == 1)
    }

    @Test func historyFailureIsATypedErrorAndChangesNothing() throws {
        struct Broken: EventHistory {
            struct DiskGone: Error {}
            func events(app: String, visitor: String, from: EventKey) throws -> [TrackedEvent] { throw DiskGone() }
            func sessions(app: String, visitor: String, from: EventKey) throws -> [StoredSession] { [] }
        }
        var harness = Harness(platform: .web)
        try harness.ingest([ev("a", .view, at: t0)], watermark: t0)
        // A late event needs the history, which fails.
        #expect(throws: SessionizerError.self) {
            try harness.sessionizer.ingest(app: "app", visitor: "v", platform: .web, rules: .defaults(for: .web),
                                           events: [ev("b", .view, at: t0 - 1)], watermark: t0, history: Broken())
        }
        #expect(harness.sessionizer.liveSessionCount == 1)
        // The live session is intact: the fast path still extends it.
        try harness.ingest([ev("c", .view, at: t0 + 1)], watermark: t0 + 1)
        #expect(harness.sessionizer.stats.fastPath == 1)
        #expect(harness.store.sessions(of: "v").first?.summary.eventCount == 2)
        let completed = harness.sessionizer.advance(to: t0 + hour)
        #expect(completed.count == 1)
    }

    /// New ids sort by session start (the store's id index then grows at its end): the top 48
    /// bits are the first event's ms, the rest comes from the generator; on both the fast path
    /// and a recomputation (here a late event that splits a session off).
    @Test func freshSessionIDsStartWithTheSessionsStartInMilliseconds() throws {
        var harness = Harness(platform: .web, seed: 3)
        try harness.ingest([ev("a", .view, at: t0 + 5), ev("b", .view, at: t0 + hour + 7)], watermark: t0 + hour + 7)
        try harness.ingest([ev("c", .view, at: t0 + 2 * hour + 9)], watermark: t0 + 2 * hour + 9)
        try harness.ingest([ev("end", .sessionEnd, at: t0 + hour + 8), ev("d", .view, at: t0 + hour + 20)],
                           watermark: t0 + 2 * hour + 9)
        let sessions = harness.store.sessions(of: "v")
        let starts = sessions.map { Int64($0.id.high >> 16) }
        #expect(starts == [t0 + 5, t0 + hour + 7, t0 + hour + 20, t0 + 2 * hour + 9])
        #expect(sessions.map(\.id) == sessions.map(\.id).sorted())
    }

    @Test func sessionIDsAreRandom128BitHex() throws {
        let id = SessionID(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210)
        #expect(id.description == "0123456789abcdeffedcba9876543210")
        #expect(SessionID(hex: id.description) == id)
        #expect(SessionID(hex: "xyz") == nil)
        #expect(SessionID(hex: "0123456789ABCDEFfedcba9876543210") == nil)
        var harness = Harness(platform: .web, seed: 7)
        try harness.ingest([ev("a", .view, at: t0), ev("b", .view, at: t0 + hour)], watermark: t0 + hour)
        let ids = harness.store.sessions(of: "v").map(\.id)
        #expect(Set(ids).count == 2)
        #expect(ids.allSatisfy { $0.high != 0 && $0.low != 0 })
    }

    /// More actions than the rating table holds, then error children of views: a child of one
    /// of the last two views rates nothing once the session has actions, so the fast path keeps
    /// going; a child of an older view may be an action that left the table, so it recomputes.
    /// Both equal the pure function.
    @Test func errorChildOfRecentViewNeedsNoRecomputation() throws {
        var harness = Harness(platform: .web)
        var events: [TrackedEvent] = []
        func send(_ batch: [TrackedEvent]) throws {
            events += batch
            try harness.ingest(batch, watermark: batch[0].event.ts)
        }
        try send([ev("v1", .view, at: t0, duration: 500)])
        for number in 1...12 {
            try send([ev("a\(number)", .action, at: t0 + Int64(number) * 1000, duration: Int64(number) * 700,
                         parent: "v1")])
        }
        try send([ev("v2", .view, at: t0 + 20_000, duration: 500)])
        try send([ev("r1", .request, at: t0 + 21_000, parent: "v2", status: 500),
                  ev("e1", .error, at: t0 + 21_500, parent: "v1")])
        #expect(harness.sessionizer.stats.ratingFallbacks == 0)
        try send([ev("v3", .view, at: t0 + 22_000, duration: 500)])
        try send([ev("v4", .view, at: t0 + 23_000, duration: 500)])
        try send([ev("e2", .error, at: t0 + 24_000, parent: "v1")])
        #expect(harness.sessionizer.stats.ratingFallbacks == 1)
        let problems = compare(harness, events, platform: .web, rules: .defaults(for: .web))
        #expect(problems.isEmpty, "\(problems)")
        #expect(harness.store.sessions(of: "v").first?.summary.experience != nil)
    }
}
