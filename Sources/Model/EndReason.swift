/// Why a session ended: BRIEF's closed list. `rawValue` is the name used in JSON and SQL.
public enum EndReason: String, Sendable, Hashable, CaseIterable {
    case inactivity = "inactivity"
    case heartbeatTimeout = "heartbeat-timeout"
    case maxDuration = "max-duration"
    case maxActions = "max-actions"
    case explicitEnd = "explicit-end"
    case newSessionRequested = "new-session-requested"
    case clientSessionChanged = "client-session-changed"
    case background = "background"
    case processRestart = "process-restart"
    case crash = "crash"
    case backstop = "backstop"

    /// The next session of the visitor may be a continuation (`continued: true`): it is when it
    /// starts before this session's inactivity timeout would have ended it (Sessionizer's
    /// `SessionState.isContinued`).
    public var continues: Bool { self == .maxDuration || self == .maxActions }
}
