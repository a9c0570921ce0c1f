import Model
import Synchronization
import Wire

/// Where the beacon route hands accepted beacons. The pipeline (routing, batching, spool)
/// answers through `completion` once it can make its promise; the HTTP answer waits for it.
public protocol IngestPipeline: Sendable {
    func submit(_ beacon: Beacon, completion: @escaping @Sendable (IngestPipelineResult) -> Void)
}

/// The pipeline's answer for one beacon, as the route turns it into HTTP.
public enum IngestPipelineResult: Sendable, Equatable {
    /// Taken: 202.
    case accepted
    /// Cannot take it now (spool full, no shard, shutting down): 503 with `Retry-After`.
    case unavailable(retryAfterSeconds: Int, reason: String)
    /// Can never be stored: 500.
    case rejected(reason: String)
}

/// A pipeline that only counts what it is given and stores nothing (tests, `bench ingress`);
/// labelled as such wherever it is used.
public final class CountingSink: IngestPipeline {
    private let counts = Mutex<(beacons: Int, events: Int)>((0, 0))

    public init() {}

    public func submit(_ beacon: Beacon, completion: @escaping @Sendable (IngestPipelineResult) -> Void) {
        counts.withLock {
            $0.beacons &+= 1
            $0.events &+= beacon.events.count
        }
        completion(.accepted)
    }

    public var beacons: Int { counts.withLock { $0.beacons } }
    public var events: Int { counts.withLock { $0.events } }
}
