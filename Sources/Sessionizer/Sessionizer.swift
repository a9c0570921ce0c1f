import Model

/// The incremental sessionizer: pure state owned by one writer (sessiond's writer thread).
/// It keeps a small summary per live session (no events) and turns new events plus a
/// watermark (server time) into `VisitorUpdate` decisions for the store. Its results equal
/// `sessionize` over all of the visitor's events, whatever the arrival order and batching.
///
/// Fast path: a visitor with a live session whose new events all come after its last event
/// extends that session in memory. Slow path (late events, a visitor without live state, a
/// rating the bounded tables cannot decide): recompute from the latest stored session that
/// starts at or before the earliest new event to the visitor's last event, reading events
/// back through `EventHistory`.
public struct Sessionizer: Sendable {
    /// Compared by bytes, as the store keys visitors.
    struct VisitorKey: Hashable, Sendable {
        var app: String
        var visitor: String

        static func == (lhs: VisitorKey, rhs: VisitorKey) -> Bool {
            lhs.app.sameBytes(rhs.app) && lhs.visitor.sameBytes(rhs.visitor)
        }

        func hash(into hasher: inout Hasher) {
            app.hashBytes(into: &hasher)
            visitor.hashBytes(into: &hasher)
        }
    }

    struct Live: Sendable {
        var key: VisitorKey
        var slot: Int32
        /// Distinguishes this session from earlier users of the same slot in the deadline heap.
        var generation: UInt32
        var id: SessionID
        var revision: Int
        var previous: SessionID?
        var platform: Platform
        var state: SessionState
        /// When the session's earliest timer fires (`.max` when every timer is off).
        var fire: Int64
        var reason: EndReason
        var shares: Shares
        /// Fire time of this session's entry in the deadline heap, if it has one.
        var scheduled: Int64?
    }

    /// Live sessions sit in `slots` (reused through `freeSlots`); `index` maps a visitor to its
    /// slot. A dictionary of large values would reserve up to twice their size in empty buckets.
    private var index = VisitorIndex()
    private var slots = Slots()
    private var freeSlots: [Int32] = []
    private var nextGeneration: UInt32 = 0
    private var deadlines = DeadlineHeap()
    private var ids: any RandomNumberGenerator & Sendable
    private let itemSeed: UInt64
    /// Page names shared by the live sessions: most sessions list the same few pages, and a
    /// URL longer than 15 bytes is a heap string of its own per session otherwise.
    private var pageNames = PageNames()
    /// The highest watermark seen (server time, epoch ms).
    public private(set) var watermark: Int64 = .min
    /// Counters for metrics and benchmarks.
    public private(set) var stats = Stats()

    public struct Stats: Sendable, Hashable {
        /// Ingests that extended a live session in memory.
        public var fastPath = 0
        /// Ingests that recomputed a stretch from stored events.
        public var slowPath = 0
        /// Fast paths abandoned because the bounded rating tables could not decide.
        public var ratingFallbacks = 0
        /// Sessions completed by `advance(to:)`.
        public var completedByWatermark = 0

        public init() {}
    }

    /// `ids` makes session ids (128 random bits each); inject a seeded generator in tests.
    /// `itemSeed` seeds the in-memory hashes that match actions and views to error children
    /// (default: random per process, so crafted ids cannot be made to collide); inject one in tests.
    public init(ids: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(), itemSeed: UInt64? = nil) {
        self.ids = ids
        self.itemSeed = itemSeed ?? Fingerprint.processSeed
    }

    /// Visitors with a live session held in memory.
    public var liveSessionCount: Int { index.count }

    /// Takes a visitor's live session out of its slot (so it is mutated without a copy). The
    /// slot stays the visitor's until `keepLive` refills it or `release` frees it.
    private mutating func takeLive(_ key: VisitorKey) -> Live? {
        guard let slot = index.slot(of: key, in: slots) else { return nil }
        var taken: Live?
        swap(&taken, &slots[Int(slot)])
        return taken
    }

    /// The visitor has no live session any more.
    private mutating func release(_ old: Live) {
        index.remove(old.key, slot: old.slot)
        slots[Int(old.slot)] = nil
        freeSlots.append(old.slot)
    }

    /// Places `events` of one visitor of one app and returns the decisions. Pass only events
    /// the store did not hold yet (it deduplicates on event id, first copy kept, as `events`
    /// is deduplicated here), in any order; the store may already have inserted them when
    /// `history` is read. `watermark` is server time; this visitor's sessions whose timeout
    /// passed it are completed, other visitors' only through `advance(to:)`.
    public mutating func ingest(app: String, visitor: String, platform: Platform, rules: SessionRules,
                                events: [TrackedEvent], watermark: Int64,
                                history: some EventHistory) throws(SessionizerError) -> VisitorUpdate {
        self.watermark = max(self.watermark, watermark)
        let incoming = orderedUnique(events)
        let key = VisitorKey(app: app, visitor: visitor)
        guard let earliest = incoming.first?.key else { return VisitorUpdate(app: app, visitor: visitor) }
        let limits = Limits(rules, itemSeed: itemSeed)
        var update: VisitorUpdate
        let current = takeLive(key)
        if let current, current.platform == platform, earliest > current.state.lastKey,
           let fast = fastPath(key, current, incoming, limits) {
            stats.fastPath &+= 1
            update = fast
        } else {
            stats.slowPath &+= 1
            update = try slowPath(key, platform: platform, limits: limits, incoming: incoming,
                                  anchor: earliest, history: history, replacing: current)
        }
        var tags: [String] = []
        for tracked in incoming {
            if let user = tracked.user, !tags.contains(where: { $0.sameBytes(user) }) { tags.append(user) }
        }
        update.userTags = tags
        return update
    }

    /// Rebuilds the live state of a visitor after a restart from what the store holds, and
    /// returns whatever changed meanwhile (usually nothing). Call it for every visitor with a
    /// live stored session when opening the store.
    public mutating func resume(app: String, visitor: String, platform: Platform, rules: SessionRules,
                                history: some EventHistory) throws(SessionizerError) -> VisitorUpdate {
        let key = VisitorKey(app: app, visitor: visitor)
        let current = takeLive(key)
        return try slowPath(key, platform: platform, limits: Limits(rules, itemSeed: itemSeed), incoming: [],
                            anchor: EventKey(ts: .max, id: "\u{10FFFF}"), history: history, replacing: current)
    }

    /// Advances server time: completes every live session whose timeout passed `watermark`.
    /// Cost: O(log n) per completed session (a min-heap of deadlines).
    public mutating func advance(to watermark: Int64) -> [VisitorUpdate] {
        self.watermark = max(self.watermark, watermark)
        var updates: [VisitorUpdate] = []
        while let top = deadlines.min, self.watermark > top.fire {
            deadlines.removeMin()
            let slot = Int(top.slot)
            guard let session = slots[slot], session.generation == top.generation, session.scheduled == top.fire
            else { continue }
            if session.fire != top.fire {
                // The deadline moved later since this entry was pushed: re-arm once.
                slots[slot]?.scheduled = session.fire
                deadlines.insert(fire: session.fire, slot: top.slot, generation: top.generation)
                continue
            }
            release(session)
            stats.completedByWatermark &+= 1
            let summary = session.state.summary(platform: session.platform, visitor: session.key.visitor, live: false,
                                                endReason: session.reason, session.shares)
            let record = SessionRecord(id: session.id, revision: session.revision &+ 1, app: session.key.app,
                                       previousSessionId: session.previous, summary: summary)
            updates.append(VisitorUpdate(app: session.key.app, visitor: session.key.visitor, upserts: [record]))
        }
        return updates
    }

    /// A new session id that sorts by the session's start, as UUIDv7 does: the top 48 bits of
    /// `high` are the first event's ms timestamp, the other 80 bits are random (unique across
    /// shards). New sessions then land at the end of the store's id index instead of on a random
    /// page of it, which a commit would have to write back (a page per new session).
    private mutating func freshID(startingAt ts: Int64) -> SessionID {
        let millis = UInt64(clamping: max(0, ts)) & 0xFFFF_FFFF_FFFF
        return SessionID(high: millis << 16 | ids.next() & 0xFFFF, low: ids.next())
    }

    private mutating func keepLive(_ key: VisitorKey, id: SessionID, revision: Int, previous: SessionID?,
                                   platform: Platform, state: SessionState, limits: Limits,
                                   replacing old: Live?) {
        var state = state
        // Only a session whose page list changed holds page strings not yet shared.
        if old.map({ $0.state.pages.count != state.pages.count || $0.id != id }) ?? true {
            pageNames.share(&state)
        }
        let deadline = state.deadline(limits)
        let slot: Int32
        if let old {
            slot = old.slot
        } else if let reused = freeSlots.popLast() {
            slot = reused
            index.insert(key, slot: slot)
        } else {
            slot = slots.grow()
            index.insert(key, slot: slot)
        }
        // The same session keeps its generation, so its heap entry stays valid.
        let sameSession = old.map { $0.id == id } ?? false
        let generation: UInt32
        if let old, sameSession {
            generation = old.generation
        } else {
            nextGeneration &+= 1
            generation = nextGeneration
        }
        var session = Live(key: key, slot: slot, generation: generation, id: id, revision: revision, previous: previous,
                           platform: platform, state: state, fire: deadline?.fire ?? .max,
                           reason: deadline?.reason ?? .inactivity, shares: limits.shares, scheduled: sameSession ? old?.scheduled : nil)
        if deadline != nil, session.scheduled.map({ $0 > session.fire }) ?? true {
            session.scheduled = session.fire
        }
        slots[Int(slot)] = session
        if let scheduled = session.scheduled, scheduled != (sameSession ? old?.scheduled : nil) {
            deadlines.insert(fire: scheduled, slot: slot, generation: generation)
        }
    }

    /// New events all after the live session's last event: fold them into its summary.
    /// Returns nil when the bounded rating tables cannot decide (nothing has changed then).
    private mutating func fastPath(_ key: VisitorKey, _ current: Live, _ incoming: [TrackedEvent],
                                   _ limits: Limits) -> VisitorUpdate? {
        var update = VisitorUpdate(app: key.app, visitor: key.visitor)
        var state: SessionState? = current.state
        var id = current.id
        var revision = current.revision
        var previous = current.previous
        var placed: (from: EventKey, to: EventKey)?
        var ended: (state: SessionState, reason: EndReason)?
        var noExact: ExactRatings?

        func record(_ state: SessionState, reason: EndReason?) -> SessionRecord {
            let summary = state.summary(platform: current.platform, visitor: key.visitor, live: reason == nil,
                                        endReason: reason, limits.shares)
            return SessionRecord(id: id, revision: revision &+ 1, app: key.app, previousSessionId: previous,
                                 summary: summary)
        }

        for tracked in incoming {
            if let open = state, case let .close(reason) = open.boundary(before: tracked, limits) {
                update.upserts.append(record(open, reason: reason))
                if let placed { update.placements.append(Placement(session: id, from: placed.from, to: placed.to)) }
                placed = nil
                state = nil
                previous = id
                ended = (open, reason)
            }
            if state == nil {
                if tracked.event.type == .heartbeat {
                    update.orphanHeartbeats.append(tracked.key)
                    continue
                }
                // A fallback below may waste this id; ids are fresh, so nothing depends on it.
                id = freshID(startingAt: tracked.key.ts)
                revision = 0
                let continued = ended.map { $0.state.isContinued(by: tracked.event.ts, after: $0.reason, limits) } ?? false
                state = SessionState(first: tracked, continued: continued)
            }
            guard state!.absorb(tracked, limits, exact: &noExact) else {
                stats.ratingFallbacks &+= 1
                return nil
            }
            placed = (placed?.from ?? tracked.key, tracked.key)
        }
        var liveState: SessionState?
        if let open = state {
            let reason = completion(open, limits, watermark: watermark)
            update.upserts.append(record(open, reason: reason))
            if let placed { update.placements.append(Placement(session: id, from: placed.from, to: placed.to)) }
            if reason == nil { liveState = open }
        }

        if let liveState, let last = update.upserts.last {
            keepLive(key, id: last.id, revision: last.revision, previous: last.previousSessionId,
                     platform: current.platform, state: liveState, limits: limits, replacing: current)
        } else {
            release(current)
        }
        return update
    }

    /// Whether no event at or after `key` can join the completed session `stored`: it ended with
    /// its last event (end-session, crash), or `key` comes after its inactivity timeout, which
    /// bounds every other timer. Needs the stored end reason (which `continued` depends on).
    static func cannotJoin(_ stored: StoredSession, from key: EventKey, _ limits: Limits) -> Bool {
        guard !stored.live, key > stored.lastEvent else { return false }
        if stored.madeUnderOtherRules { return true }
        guard let reason = stored.endReason else { return false }
        if reason == .explicitEnd || reason == .crash { return true }
        guard let inactivity = limits.inactivity else { return false }
        return key.ts > plus(stored.lastEvent.ts, inactivity)
    }

    /// Recomputes the visitor's sessions from the latest stored session starting at or before
    /// `anchor` (or from `anchor` when the new events cannot join that session) to the
    /// visitor's last event, and diffs them against the stored ones.
    private mutating func slowPath(_ key: VisitorKey, platform: Platform, limits: Limits,
                                   incoming: [TrackedEvent], anchor: EventKey, history: some EventHistory,
                                   replacing old: Live?) throws(SessionizerError) -> VisitorUpdate {
        let stored: [StoredSession]
        let past: [TrackedEvent]
        var firstContinued = false
        var firstPrevious: SessionID?
        do {
            var sessions = try history.sessions(app: key.app, visitor: key.visitor, from: anchor)
            var stretchStart = anchor
            if let first = sessions.first, first.firstEvent <= anchor {
                if Sessionizer.cannotJoin(first, from: anchor, limits) {
                    // The new events start after it: it stays as it is, and reading its events
                    // back (a returning visitor's previous visit) is not needed.
                    firstContinued = first.endReason.map {
                        isContinuation(after: $0, lastEventTs: first.lastEvent.ts, nextTs: anchor.ts, limits)
                    } ?? false
                    firstPrevious = first.id
                    sessions.removeFirst()
                } else {
                    stretchStart = first.firstEvent
                    firstContinued = first.continued
                    firstPrevious = first.previousSessionId
                }
            }
            stored = sessions
            past = try history.events(app: key.app, visitor: key.visitor, from: stretchStart)
        } catch {
            // Nothing changes: the live session goes back where it was.
            if let old { slots[Int(old.slot)] = old }
            throw .history(app: key.app, visitor: key.visitor, message: "\(error)")
        }
        let events = orderedUnique(past + incoming)
        let computed = compute(events, limits: limits, platform: platform, visitor: key.visitor,
                               firstContinued: firstContinued, watermark: watermark)

        // The stored session each event belonged to (stored sessions never overlap).
        func storedIndex(of eventKey: EventKey) -> Int? {
            var low = 0
            var high = stored.count
            while low < high {
                let middle = (low + high) / 2
                if stored[middle].firstEvent <= eventKey { low = middle + 1 } else { high = middle }
            }
            guard low > 0, eventKey <= stored[low - 1].lastEvent else { return nil }
            return low - 1
        }

        // A session keeps the id of the earliest stored session it holds events of whose id no
        // earlier session took; otherwise it gets a fresh id.
        var taken = Set<SessionID>()
        var sessionIDs: [SessionID] = []
        for segment in computed.segments {
            var chosen: SessionID?
            var lastChecked: Int?
            for index in segment.range {
                guard let old = storedIndex(of: events[index].key), old != lastChecked else { continue }
                lastChecked = old
                if !taken.contains(stored[old].id) {
                    chosen = stored[old].id
                    break
                }
            }
            let id = chosen ?? freshID(startingAt: events[segment.range.lowerBound].key.ts)
            taken.insert(id)
            sessionIDs.append(id)
        }

        var update = VisitorUpdate(app: key.app, visitor: key.visitor)
        // A retired session merged into the session that now holds its first event.
        for old in stored where !taken.contains(old.id) {
            guard !computed.segments.isEmpty else { break }
            let position = computed.segments.firstIndex { segment in
                segment.range.last.map { events[$0].key >= old.firstEvent } ?? false
            } ?? computed.segments.count - 1
            update.retired.append(Retirement(id: old.id, mergedInto: sessionIDs[position]))
        }

        var storedByID: [SessionID: StoredSession] = [:]
        for old in stored { storedByID[old.id] = old }
        var lastRevision = 0
        for (position, segment) in computed.segments.enumerated() {
            let id = sessionIDs[position]
            let previous = position == 0 ? firstPrevious : sessionIDs[position - 1]
            let old = storedByID[id]
            let record = SessionRecord(id: id, revision: (old?.revision ?? 0) &+ 1, app: key.app,
                                       previousSessionId: previous, summary: computed.summaries[position])
            if let old, old.fingerprint == record.fingerprint {
                lastRevision = old.revision
                continue
            }
            lastRevision = record.revision
            update.upserts.append(record)
            if let from = segment.range.first, let to = segment.range.last {
                update.placements.append(Placement(session: id, from: events[from].key, to: events[to].key))
            }
        }
        update.orphanHeartbeats = computed.orphans.map { events[$0].key }

        if let liveState = computed.live, let last = sessionIDs.last {
            let previous = sessionIDs.count >= 2 ? sessionIDs[sessionIDs.count - 2] : firstPrevious
            keepLive(key, id: last, revision: lastRevision, previous: previous, platform: platform,
                     state: liveState, limits: limits, replacing: old)
        } else if let old {
            release(old)
        }
        return update
    }
}

/// A bounded set of page names: `share` makes a session's pages point at one stored copy each.
struct PageNames: Sendable {
    static let limit = 4096
    private var names = Set<ByteKey>()

    mutating func share(_ state: inout SessionState) {
        guard !state.pages.isEmpty else { return }
        for index in state.pages.indices {
            let page = state.pages[index]
            if let known = names.firstIndex(of: ByteKey(page)) {
                state.pages[index] = names[known].text
            } else {
                // Past the bound, start over: sessions keep the copies they already share.
                if names.count >= PageNames.limit { names.removeAll(keepingCapacity: true) }
                names.insert(ByteKey(page))
            }
            if state.exitPage?.sameBytes(page) == true { state.exitPage = state.pages[index] }
        }
    }
}

/// Visitor -> slot, keyed by a 64-bit hash of (app, visitor) so the table holds 12 bytes per
/// visitor instead of two strings; the rare visitor whose hash is taken goes to `collided`.
struct VisitorIndex: Sendable {
    private var byHash: [UInt64: Int32] = [:]
    private var collided: [Sessionizer.VisitorKey: Int32] = [:]

    var count: Int { byHash.count + collided.count }

    static func hash(_ key: Sessionizer.VisitorKey) -> UInt64 {
        var fingerprint = Fingerprint()
        fingerprint.add(key.app)
        fingerprint.add(key.visitor)
        return fingerprint.value
    }

    func slot(of key: Sessionizer.VisitorKey, in slots: Slots) -> Int32? {
        if let slot = byHash[VisitorIndex.hash(key)], slots.key(at: Int(slot)) == key { return slot }
        return collided.isEmpty ? nil : collided[key]
    }

    mutating func insert(_ key: Sessionizer.VisitorKey, slot: Int32) {
        let hash = VisitorIndex.hash(key)
        if byHash[hash] == nil { byHash[hash] = slot } else { collided[key] = slot }
    }

    mutating func remove(_ key: Sessionizer.VisitorKey, slot: Int32) {
        let hash = VisitorIndex.hash(key)
        if byHash[hash] == slot { byHash[hash] = nil } else { collided[key] = nil }
    }
}

/// Live sessions in fixed chunks: growing never copies them, and at most one chunk is spare
/// (a single array would reserve up to twice the live sessions while doubling).
struct Slots: Sendable {
    static let chunkSize = 1024
    private var chunks: [[Sessionizer.Live?]] = []
    private(set) var count = 0

    /// Adds an empty slot and returns its number.
    mutating func grow() -> Int32 {
        if count == chunks.count * Slots.chunkSize {
            var chunk: [Sessionizer.Live?] = []
            chunk.reserveCapacity(Slots.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(nil)
        count += 1
        return Int32(truncatingIfNeeded: count - 1)
    }

    /// The visitor of a filled slot, without copying the session.
    func key(at slot: Int) -> Sessionizer.VisitorKey? {
        chunks[slot / Slots.chunkSize][slot % Slots.chunkSize]?.key
    }

    subscript(slot: Int) -> Sessionizer.Live? {
        get { chunks[slot / Slots.chunkSize][slot % Slots.chunkSize] }
        _modify { yield &chunks[slot / Slots.chunkSize][slot % Slots.chunkSize] }
        set { chunks[slot / Slots.chunkSize][slot % Slots.chunkSize] = newValue }
    }
}

/// Binary min-heap of (deadline, slot, generation). Entries may be stale; `advance` checks each.
struct DeadlineHeap: Sendable {
    struct Entry: Sendable {
        var fire: Int64
        var slot: Int32
        var generation: UInt32
    }

    private var entries: [Entry] = []

    var min: Entry? { entries.first }
    var count: Int { entries.count }

    mutating func insert(fire: Int64, slot: Int32, generation: UInt32) {
        entries.append(Entry(fire: fire, slot: slot, generation: generation))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].fire < entries[parent].fire else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeMin() {
        guard !entries.isEmpty else { return }
        entries.swapAt(0, entries.count - 1)
        entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].fire < entries[smallest].fire { smallest = left }
            if right < entries.count && entries[right].fire < entries[smallest].fire { smallest = right }
            guard smallest != parent else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
