import CollectorCore
import Synchronization
import Model

/// A pipeline that only counts what it is given and stores nothing (tests, `clickpath-bench ingress`);
/// labelled as such wherever it is used.
public final class CountingSink: BeaconSink {
    private let counts = Mutex<(beacons: Int, events: Int)>((0, 0))

    public init() {}

    public func submit(_ beacon: Beacon, completion: @escaping @Sendable (SinkResult) -> Void) {
        counts.withLock {
            $0.beacons &+= 1
            $0.events &+= beacon.events.count
        }
        completion(.accepted)
    }

    public var beacons: Int { counts.withLock { $0.beacons } }
    public var events: Int { counts.withLock { $0.events } }
}
