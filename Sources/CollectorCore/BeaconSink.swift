import Model
import Wire

/// Where the beacon route hands accepted beacons. The pipeline (routing, batching, spool)
/// answers through `completion` once it can make its promise; the HTTP answer waits for it.
public protocol BeaconSink: Sendable {
    func submit(_ beacon: Beacon, completion: @escaping @Sendable (SinkResult) -> Void)
}

/// The pipeline's answer for one beacon, as the route turns it into HTTP.
public enum SinkResult: Sendable, Equatable {
    /// Taken: 202.
    case accepted
    /// Cannot take it now (spool full, no shard, shutting down): 503 with `Retry-After`.
    case unavailable(retryAfterSeconds: Int, reason: String)
    /// Can never be stored: 500.
    case rejected(reason: String)
}
