/// Bounds of the beacon contract (`Schemas/beacon.schema.json`). Lengths are UTF-8 bytes after
/// JSON escapes are decoded. A breach in the envelope rejects the beacon (400); a breach in an
/// event rejects that event only.
public struct BeaconLimits: Sendable, Equatable {
    public var maxEvents = 500
    public var maxAppBytes = 64
    /// visitor, session, event id, parent.
    public var maxIDBytes = 128
    public var maxUserBytes = 256
    /// Each `device` field.
    public var maxDeviceFieldBytes = 128
    public var maxNameBytes = 1024
    public var maxURLBytes = 4096
    public var maxMethodBytes = 16
    public var maxMessageBytes = 4096
    public var maxStackBytes = 32 * 1024
    public var maxTimingEntries = 64
    public var maxPropsEntries = 64
    public var maxPropKeyBytes = 128
    public var maxPropStringBytes = 1024
    /// `duration`, ms (7 days).
    public var maxDuration: Int64 = 7 * 24 * 3_600_000
    /// HTTP status of a request or resource; 0 is a network failure.
    public var statusRange: ClosedRange<Int64> = 0...999
    /// How far in the future (after skew correction) an event may be, ms.
    public var maxFuture: Int64 = 60_000

    public init() {}
}
