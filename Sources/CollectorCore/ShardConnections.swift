// One Transport `WireClient` per sessiond shard, wired to the pipeline's senders: the sender's
// window decides what goes out (and re-sends what a lost connection left unanswered), the client
// connects, reconnects and moves the frames; BatchAcks and GoAways come back to the sender,
// connection state feeds /readyz and metrics.
import Model
import Transport
import Wire
import System

/// A sessiond shard: its stable id (checked in the Wire handshake) and address.
public struct ShardEndpoint: Sendable, Hashable {
    public var id: String
    public var address: SocketAddress

    public init(id: String, address: SocketAddress) {
        self.id = id
        self.address = address
    }
}

/// Hands batches to Transport's `WireClient`.
final class WireClientBatchSender: BatchSender {
    let client: WireClient
    init(client: WireClient) { self.client = client }
    func send(frame: [UInt8], id: BatchID) { client.send(frame: frame) }
    func reconnect() { client.reconnect(reason: "drained after GoAway") }
}

public final class ShardConnections: Sendable {
    public let loop: EventLoop
    private let clients: [WireClient]

    /// Connects to every endpoint on one event loop (reconnecting with backoff for as long as
    /// it runs). A server announcing another shard id is refused in the handshake.
    public static func start(pipeline: Pipeline, endpoints: [ShardEndpoint], nodeID: String,
                             softwareVersion: String, settings: WireSettings = WireSettings(),
                             backoff: ReconnectBackoff = ReconnectBackoff(), log: Log = .standardError) throws -> ShardConnections {
        let loop = try EventLoop.start(name: "wire-clients")
        var clients: [WireClient] = []
        for endpoint in endpoints {
            guard let sender = pipeline.sender(for: endpoint.id) else { continue }
            let hello = Hello(role: .collector, nodeID: nodeID, softwareVersion: softwareVersion, expectedShardID: endpoint.id)
            let handlers = WireClientHandlers(
                ready: { parameters in
                    log.write("collector: connected to shard \(endpoint.id) at \(endpoint.address)")
                    sender.connected(window: Int(parameters.maxInFlightBatches))
                },
                message: { message in
                    switch message {
                    case let .batchAck(ack): sender.received(ShardAnswer(ack), for: ack.batchID)
                    case .goAway: sender.goAway()
                    default: break
                    }
                },
                disconnected: { reason, retryIn in
                    if sender.isConnected {
                        log.write("collector: shard \(endpoint.id) at \(endpoint.address) disconnected (\(reason)); "
                                  + "retrying in \(retryIn) s, beacons keep being spooled")
                    }
                    sender.disconnected()
                })
            let client = WireClient(loop: loop, address: endpoint.address, hello: hello, settings: settings,
                                    backoff: backoff, handlers: handlers)
            sender.attach(WireClientBatchSender(client: client))
            clients.append(client)
        }
        for client in clients { client.start() }
        return ShardConnections(loop: loop, clients: clients)
    }

    private init(loop: EventLoop, clients: [WireClient]) {
        self.loop = loop
        self.clients = clients
    }

    /// Closes every connection and stops the loop. Unanswered batches stay in the spool.
    public func stop() {
        for client in clients { client.stop() }
        loop.stop()
    }
}
