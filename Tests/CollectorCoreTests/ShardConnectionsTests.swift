#if canImport(Glibc)
import Glibc
#endif
import Model
import TestSupport
import Testing
import Transport
@testable import CollectorCore
import Wire
import System

/// A pipeline with the real Wire encoder and real Wire connections to `endpoints`.
struct WiredPipeline {
    let dir = TemporaryDirectory()
    let spool: Spool
    let pipeline: Pipeline
    let connections: ShardConnections

    init(endpoints: [ShardEndpoint], ack: AckMode) throws {
        spool = try Spool(directory: dir.path + "/spool")
        pipeline = Pipeline(identity: ProducerIdentity(producer: 5, epoch: 1), shards: endpoints.map(\.id), spool: spool,
                            encoder: WireBatchEncoder(), options: PipelineOptions(ackMode: ack, batchLimits: oneEventBatches),
                            log: Log { _ in })
        connections = try ShardConnections.start(pipeline: pipeline, endpoints: endpoints, nodeID: "test", softwareVersion: "0",
                                                 backoff: ReconnectBackoff(initial: 0.01, maximum: 0.05), log: Log { _ in })
    }

    func stop() {
        connections.stop()
        spool.close()
        dir.remove()
    }
}

@Suite(.serialized) struct ShardConnectionsTests {
    @Test func sessiondModeAnswersOnceTheShardAcknowledgedOverWire() throws {
        let shard = try FakeShard(shard: "s1")
        defer { shard.stop() }
        let wired = try WiredPipeline(endpoints: [ShardEndpoint(id: "s1", address: SocketAddress(host: "127.0.0.1", port: shard.server.port)!)],
                                      ack: .sessiond)
        defer { wired.stop() }
        let answers = Collector<SubmitResult>()
        let sent = beacon("v1", events: ["e1", "e2"])
        wired.pipeline.submit(sent, completion: answers.add)
        #expect(answers.wait(count: 1) == [.accepted])
        let batches = shard.batches.all
        #expect(batches.count == 1, "the shard had the batch before the answer")
        #expect(batches.first?.beacons == [sent])
        #expect(batches.first?.batchID == BatchID(producer: 5, epoch: 1, sequence: 1))
        drain(wired.spool)
        #expect(wired.spool.liveBatches == 0)
    }

    @Test func batchesSpooledWhileTheShardIsDownArriveInOrderOnceItIsUp() throws {
        let port = unusedPort()
        let wired = try WiredPipeline(endpoints: [ShardEndpoint(id: "s1", address: SocketAddress(host: "127.0.0.1", port: port)!)],
                                      ack: .spool)
        defer { wired.stop() }
        let answers = Collector<SubmitResult>()
        for n in 0..<5 { wired.pipeline.submit(beacon("v", events: ["e\(n)"]), completion: answers.add) }
        #expect(answers.wait(count: 5).allSatisfy { $0 == .accepted })
        let shard = try FakeShard(shard: "s1", port: port)
        defer { shard.stop() }
        let batches = shard.batches.wait(count: 5)
        #expect(batches.map(\.batchID.sequence) == [1, 2, 3, 4, 5])
        #expect(batches.flatMap { $0.beacons.flatMap { $0.events.map(\.id) } } == ["e0", "e1", "e2", "e3", "e4"])
    }

    @Test func theCollectorKeepsToTheShardsWindowAndResendsWhatALostShardLeftUnanswered() throws {
        let port = unusedPort()
        let silent = try FakeShard(shard: "s1", port: port, window: 3, acknowledges: false)
        let wired = try WiredPipeline(endpoints: [ShardEndpoint(id: "s1", address: SocketAddress(host: "127.0.0.1", port: port)!)],
                                      ack: .spool)
        defer { wired.stop() }
        let answers = Collector<SubmitResult>()
        for n in 0..<6 { wired.pipeline.submit(beacon("v", events: ["e\(n)"]), completion: answers.add) }
        #expect(answers.wait(count: 6).allSatisfy { $0 == .accepted })
        #expect(silent.batches.wait(count: 3).map(\.batchID.sequence) == [1, 2, 3])
        // The window is the shard's 3: the other three wait in the collector.
        let sender = try #require(wired.pipeline.sender(for: "s1"))
        #expect(eventually { sender.inFlightCount == 3 && sender.queuedCount == 3 })
        #expect(silent.batches.all.count == 3)
        silent.stop()
        let shard = try FakeShard(shard: "s1", port: port)
        defer { shard.stop() }
        let batches = shard.batches.wait(count: 6)
        #expect(batches.map(\.batchID.sequence) == [1, 2, 3, 4, 5, 6], "the unanswered three first, in order")
        #expect(eventually { wired.spool.liveBatches == 0 })
    }

    @Test func aServerOfAnotherShardIsRefusedInTheHandshake() throws {
        let impostor = try FakeShard(shard: "s2")
        defer { impostor.stop() }
        let wired = try WiredPipeline(endpoints: [ShardEndpoint(id: "s1", address: SocketAddress(host: "127.0.0.1", port: impostor.server.port)!)],
                                      ack: .spool)
        defer { wired.stop() }
        let answers = Collector<SubmitResult>()
        wired.pipeline.submit(beacon("v", events: ["e"]), completion: answers.add)
        #expect(answers.wait(count: 1) == [.accepted])
        // Wait until the collector has tried (and been refused) twice.
        let closes = impostor.closes.wait(count: 2)
        #expect(closes.count >= 2)
        #expect(impostor.batches.all.isEmpty)
        #expect(wired.pipeline.sender(for: "s1")?.isConnected == false)
        #expect(wired.spool.liveBatches == 1, "the batch waits in the spool for the right shard")
    }
}
