import Model

/// One session found by `sessionize`.
public struct SessionDraft: Sendable, Hashable {
    public var summary: SessionSummary
    /// The session's events in `EventKey` order.
    public var events: [EventKey]
}

/// The sessions of one visitor in one app, in order: each session's previous session is the
/// one before it in `sessions`.
public struct SessionizeResult: Sendable, Hashable {
    public var sessions: [SessionDraft]
    /// Heartbeats that found no session to keep alive.
    public var orphanHeartbeats: [EventKey]
}

/// The core truth: the sessions of ONE visitor's events in ONE app, as a pure function of the
/// events (deduplicated by event id, first occurrence kept; ordered by `EventKey`), the rules
/// and the watermark (server time; decides only which sessions are still live).
/// `firstContinued`: the first session continues the session before these events (a stretch
/// made under one rule set after one made under another).
public func sessionize(_ events: [TrackedEvent], visitor: String, platform: Platform, rules: SessionRules,
                       watermark: Int64, firstContinued: Bool = false) -> SessionizeResult {
    let ordered = orderedUnique(events)
    let computed = compute(ordered, limits: Limits(rules), platform: platform, visitor: visitor,
                           firstContinued: firstContinued, watermark: watermark)
    let sessions = zip(computed.segments, computed.summaries).map { segment, summary in
        SessionDraft(summary: summary, events: ordered[segment.range].map(\.key))
    }
    return SessionizeResult(sessions: sessions, orphanHeartbeats: computed.orphans.map { ordered[$0].key })
}

/// Deduplicates by event id bytes (first occurrence wins) and orders by `EventKey`.
func orderedUnique(_ events: [TrackedEvent]) -> [TrackedEvent] {
    if events.count <= 1 { return events }
    if events.count <= 16 {
        // Small batches (the common case): no hash set, and no copy when a store hands them
        // over already ordered and distinct.
        if isOrderedUnique(events) { return events }
        var unique: [TrackedEvent] = []
        unique.reserveCapacity(events.count)
        for event in events where !unique.contains(where: { $0.event.id.sameBytes(event.event.id) }) { unique.append(event) }
        unique.sort(by: precedes)
        return unique
    }
    var seen = Set<ByteKey>()
    seen.reserveCapacity(events.count)
    var unique: [TrackedEvent] = []
    unique.reserveCapacity(events.count)
    for event in events where seen.insert(ByteKey(event.event.id)).inserted { unique.append(event) }
    unique.sort(by: precedes)
    return unique
}

/// `a.key < b.key` without building the keys.
@inline(__always) func precedes(_ a: TrackedEvent, _ b: TrackedEvent) -> Bool {
    if a.event.ts != b.event.ts { return a.event.ts < b.event.ts }
    return a.event.id.compareBytes(b.event.id) < 0
}

/// Strictly increasing keys and pairwise distinct ids (quadratic: small arrays only).
private func isOrderedUnique(_ events: [TrackedEvent]) -> Bool {
    for index in events.indices.dropFirst() {
        guard precedes(events[index - 1], events[index]) else { return false }
        for earlier in events.indices[..<index] where events[earlier].event.id.sameBytes(events[index].event.id) {
            return false
        }
    }
    return true
}

struct Segment {
    var range: Range<Int>
    /// Why the session ended, when a later event ended it.
    var closedBy: EndReason?
}

struct Computed {
    var segments: [Segment]
    var summaries: [SessionSummary]
    /// Indices of orphan heartbeats.
    var orphans: [Int]
    /// The state of the last session when it is still live, for the engine's fast path.
    var live: SessionState?
}

/// Why an open session is completed at `watermark`, or nil while it is live.
func completion(_ state: SessionState, _ limits: Limits, watermark: Int64) -> EndReason? {
    if let closedBy = state.closedBy { return closedBy }
    if let (fire, reason) = state.deadline(limits), watermark > fire { return reason }
    return nil
}

/// Two passes: the partition into sessions (rules never depend on ratings), then each session's
/// summary with exact ratings (a child error may come before or after its parent).
func compute(_ events: [TrackedEvent], limits: Limits, platform: Platform, visitor: String,
             firstContinued: Bool, watermark: Int64) -> Computed {
    var segments: [Segment] = []
    var orphans: [Int] = []
    var open: (state: SessionState, from: Int)?
    var noRatings: ExactRatings? = ExactRatings()
    for index in events.indices {
        let tracked = events[index]
        if let current = open, case let .close(reason) = current.state.boundary(before: tracked, limits) {
            segments.append(Segment(range: current.from..<index, closedBy: reason))
            open = nil
        }
        if open == nil {
            if tracked.event.type == .heartbeat {
                orphans.append(index)
                continue
            }
            // `continued` does not decide boundaries: the second pass sets it.
            open = (SessionState(first: tracked, continued: false), index)
        }
        _ = open!.state.absorb(tracked, limits, exact: &noRatings)
    }
    if let current = open { segments.append(Segment(range: current.from..<events.count, closedBy: nil)) }

    var summaries: [SessionSummary] = []
    summaries.reserveCapacity(segments.count)
    var live: SessionState?
    var previous: (state: SessionState, reason: EndReason?)?
    for segment in segments {
        let slice = events[segment.range]
        var exact: ExactRatings? = ExactRatings(session: slice)
        let first = slice[slice.startIndex]
        let isContinued = previous.map { previous in
            previous.reason.map { previous.state.isContinued(by: first.event.ts, after: $0, limits) } ?? false
        } ?? firstContinued
        var state = SessionState(first: first, continued: isContinued)
        for tracked in slice { _ = state.absorb(tracked, limits, exact: &exact) }
        let reason = segment.closedBy ?? completion(state, limits, watermark: watermark)
        summaries.append(state.summary(platform: platform, visitor: visitor, live: reason == nil, endReason: reason, limits.shares))
        previous = (state, reason)
        if reason == nil { live = state }
    }
    return Computed(segments: segments, summaries: summaries, orphans: orphans, live: live)
}
