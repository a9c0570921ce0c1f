// One accepted beacon: the envelope the collector passes on with its accepted events.

/// One accepted beacon: the envelope plus the events the collector accepted.
public struct Beacon: Sendable, Hashable {
    public var app: String
    public var platform: Platform
    /// Persistent visitor id (cookie on the web, device id on mobile).
    public var visitor: String
    /// Client session id, when the client has one.
    public var session: String?
    /// User tag (login name) set by the application.
    public var user: String?
    public var device: Device?
    /// Client clock at send time, epoch ms.
    public var sentAt: Int64
    /// Collector clock at receipt, epoch ms.
    public var receivedAt: Int64
    /// Client address after masking (/24 IPv4, /48 IPv6), textual.
    public var clientAddress: String?
    public var userAgent: String?
    public var events: [Event]

    public init(app: String, platform: Platform, visitor: String, session: String? = nil,
                user: String? = nil, device: Device? = nil, sentAt: Int64, receivedAt: Int64,
                clientAddress: String? = nil, userAgent: String? = nil, events: [Event]) {
        self.app = app
        self.platform = platform
        self.visitor = visitor
        self.session = session
        self.user = user
        self.device = device
        self.sentAt = sentAt
        self.receivedAt = receivedAt
        self.clientAddress = clientAddress
        self.userAgent = userAgent
        self.events = events
    }
}
