import Model

// The rows of BRIEF's session-rules table, each where it is decided. The numbers come from the
// app's `SessionRules` (`Limits`); "more than" is strict: an event exactly at a limit still joins.
//
// | row                                                          | decided in                        |
// |--------------------------------------------------------------|-----------------------------------|
// | web/mobile/mini program/custom: no event for N min           | `deadline`, inactivity timer      |
// | custom: no heartbeat for 5 min once the client sends them    | `deadline`, heartbeat timer       |
// | mobile, mini program: in background for more than 30 s      | `deadline`, background timer      |
// | web, mobile, custom: the session reached 8 h                 | `deadline`, max-duration timer    |
// | mobile: both switched off, a 24 h backstop                   | `deadline`, backstop timer        |
// | web: the session reached 200 user actions                    | `boundary`, the 201st action      |
// | web: the client session id changes                           | `boundary`, client-session-changed|
// | mobile: the app asked for a new session (`session_start`)    | `boundary`, new-session-requested |
// | mobile, mini program: process killed and started again       | `boundary`, `app_start`           |
// | web, custom: the app called end-session (`session_end`)      | `SessionState.absorb`, closedBy   |
// | every platform: a crash (`error` with `fatal: true`)         | `SessionState.absorb`, closedBy   |
// | continued: the visitor was still active at the cut           | `isContinuation`                  |

/// What ends the open session before an event, or nil when the event joins it.
enum Boundary: Equatable {
    case join
    /// The session ends with this reason; a non-heartbeat event starts the next one,
    /// a heartbeat becomes an orphan.
    case close(EndReason)
}

extension SessionState {
    /// The earliest timer that ends the session, ties broken in this order: max-duration,
    /// backstop, background, heartbeat-timeout, inactivity (BRIEF: "the one that comes first in
    /// time ends it"). An event strictly after `fire` starts a new session; a watermark strictly
    /// after `fire` completes the session.
    func deadline(_ limits: Limits) -> (fire: Int64, reason: EndReason)? {
        // `session_end` and a fatal error closed the session with their own event.
        if let closedBy { return (.min, closedBy) }
        var best: (fire: Int64, reason: EndReason)?
        func consider(_ fire: Int64, _ reason: EndReason) {
            if best == nil || fire < best!.fire { best = (fire, reason) }
        }
        // "The session reached 8 h" (web, mobile unless switched off, custom).
        if let maxDuration = limits.maxDuration { consider(plus(start, maxDuration), .maxDuration) }
        // Mobile: "with both switched off, a 24 h backstop still ends a session".
        if let backstop = limits.backstop { consider(plus(start, backstop), .backstop) }
        // Mobile, mini program: "app in background for more than 30 s", timed from the first
        // `app_background` not followed by `app_foreground`.
        if let background = limits.background, let backgroundSince {
            consider(plus(backgroundSince, background), .background)
        }
        // Custom: "no heartbeat for 5 min once the client sends heartbeats", timed from any event.
        if heartbeatSeen, let heartbeat = limits.heartbeat { consider(plus(lastKey.ts, heartbeat), .heartbeatTimeout) }
        // "No event for 30 min" (mobile 10 min, may be off; the mini program's backstop).
        if let inactivity = limits.inactivity { consider(plus(lastKey.ts, inactivity), .inactivity) }
        return best
    }

    /// Whether a session whose first event is at `nextTs` continues this one, which ended by
    /// `reason` (BRIEF): only after max-duration or max-actions, and only while the visitor was
    /// still active at the cut, i.e. no later than this session's inactivity timeout would have
    /// ended it (inclusive, as an event exactly at the timeout still joins). With inactivity
    /// switched off nothing would have ended it, so the next session continues.
    func isContinued(by nextTs: Int64, after reason: EndReason, _ limits: Limits) -> Bool {
        isContinuation(after: reason, lastEventTs: lastKey.ts, nextTs: nextTs, limits)
    }

    /// Whether `next` (later in key order than every event so far) joins this session: the
    /// timers above first (a `session_start` an hour later ends the session by inactivity),
    /// then the event rules.
    func boundary(before next: TrackedEvent, _ limits: Limits) -> Boundary {
        if let closedBy { return .close(closedBy) }
        if let (fire, reason) = deadline(limits), next.event.ts > fire { return .close(reason) }
        // Web: "the client session id changes" (browser closed, cookies cleared); a missing id never splits.
        if let incoming = next.clientSession, let current = clientSession, incoming != current {
            return .close(.clientSessionChanged)
        }
        switch next.event.type {
        // Mobile: "the app asked for a new session (`session_start`)"; it opens the next one.
        case .sessionStart: return .close(.newSessionRequested)
        // Mobile, mini program: "process killed and started again"; `app_start` opens the next one.
        case .appStart: return .close(.processRestart)
        // Web: "the session reached 200 user actions"; the 201st starts the next session.
        case .action:
            if let maxActions = limits.maxActions, Int(actions) >= maxActions { return .close(.maxActions) }
            return .join
        default: return .join
        }
    }
}

/// Whether a session starting at `nextTs` continues one that ended by `reason` with its last
/// event at `lastEventTs` (see `SessionState.isContinued`).
func isContinuation(after reason: EndReason, lastEventTs: Int64, nextTs: Int64, _ limits: Limits) -> Bool {
    guard reason.continues else { return false }
    guard let inactivity = limits.inactivity else { return true }
    return nextTs <= plus(lastEventTs, inactivity)
}

/// The same under `rules`, for tools that check stored sessions (`clickpath replay`).
public func isContinuation(after reason: EndReason, lastEventTs: Int64, nextTs: Int64, rules: SessionRules) -> Bool {
    isContinuation(after: reason, lastEventTs: lastEventTs, nextTs: nextTs, Limits(rules))
}
