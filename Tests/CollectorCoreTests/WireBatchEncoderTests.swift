import Model
import Testing
@testable import CollectorCore
import Wire

@Suite struct WireBatchEncoderTests {
    static func realistic(_ n: Int) -> Beacon {
        Beacon(app: "shop", platform: .web, visitor: "v-\(n)-8f3a2c", session: "s-\(n)", user: nil,
               device: Device(browser: "Firefox", browserVersion: "128", os: "Linux", deviceType: "desktop", screen: "1920x1080"),
               sentAt: 1_700_000_000_000, receivedAt: 1_700_000_000_050, clientAddress: "203.0.113.0",
               userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
               events: (0..<10).map { i in
                   Event(id: "e\(n)-\(i)", type: i == 0 ? .view : .request, ts: 1_700_000_000_000 + Int64(i),
                         duration: 120, name: "GET /api/cart", url: "https://shop.example/api/cart?item=\(i)",
                         parent: "e\(n)-0", status: 200, method: "GET",
                         timing: [("ttfb", 40.5), ("download", 12)], props: [("plan", .string("pro")), ("items", .number(3))])
               })
    }

    @Test func framesDecodeBackToTheSameBatch() throws {
        let beacons = (0..<3).map(Self.realistic)
        let id = BatchID(producer: 9, epoch: 2, sequence: 77)
        let frame = try WireBatchEncoder().encode(id: id, shard: "s1", beacons: beacons)
        let decoded = try EventBatch(frameBytes: frame)
        #expect(decoded.batchID == id)
        #expect(decoded.beacons == beacons)
    }

    @Test func theSizeEstimateIsAnUpperBoundNotAWildOne() throws {
        let encoder = WireBatchEncoder()
        let beacons = (0..<20).map(Self.realistic)
        let frame = try encoder.encode(id: BatchID(producer: 1, epoch: 1, sequence: 1), shard: "s", beacons: beacons)
        let estimate = beacons.reduce(0) { $0 + encoder.estimatedSize(of: $1) }
        #expect(estimate >= frame.count)
        #expect(estimate <= frame.count * 6, "estimate \(estimate) for \(frame.count) bytes")
    }

    @Test func aBatchBeyondTheFrameBoundThrows() {
        let encoder = WireBatchEncoder(maxFrameLength: 1024)
        #expect(throws: WireError.self) {
            _ = try encoder.encode(id: BatchID(producer: 1, epoch: 1, sequence: 1), shard: "s", beacons: (0..<20).map(Self.realistic))
        }
    }

    @Test(arguments: [(BatchOutcome.committed, "", ShardAnswer.committed), (.duplicate, "", .duplicate),
                      (.rejected, "bad", .rejected(reason: "bad")), (.rejected, "", .rejected(reason: "no reason given"))])
    func batchAcksMapToShardAnswers(outcome: BatchOutcome, reason: String, expected: ShardAnswer) {
        let ack = BatchAck(batchID: BatchID(producer: 1, epoch: 1, sequence: 1), outcome: outcome,
                           acceptedEvents: 0, duplicateEvents: 0, reason: reason)
        #expect(ShardAnswer(ack) == expected)
    }
}
