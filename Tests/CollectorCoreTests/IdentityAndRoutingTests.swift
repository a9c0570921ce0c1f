import Model
import Testing
@testable import CollectorCore
import Wire
import TestSupport

@Suite struct ProducerIdentityTests {
    @Test func producerIsStableAndEpochGrowsOnEveryStart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = try ProducerIdentity.load(directory: dir.path, random: { 0x1234_5678_9ABC_DEF0 })
        let second = try ProducerIdentity.load(directory: dir.path, random: { 42 })
        let third = try ProducerIdentity.load(directory: dir.path, random: { 43 })
        #expect(first == ProducerIdentity(producer: 0x1234_5678_9ABC_DEF0, epoch: 1))
        #expect(second == ProducerIdentity(producer: 0x1234_5678_9ABC_DEF0, epoch: 2))
        #expect(third.epoch == 3)
        #expect(String(decoding: readFile(dir.path + "/producer-id"), as: UTF8.self) == "123456789abcdef0\n")
        #expect(String(decoding: readFile(dir.path + "/epoch"), as: UTF8.self) == "3\n")
        #expect(!listDirectory(dir.path).contains { $0.hasSuffix(".tmp") })
    }

    @Test func differentFoldersGetDifferentProducers() throws {
        let a = TemporaryDirectory(), b = TemporaryDirectory()
        defer { a.remove(); b.remove() }
        let first = try ProducerIdentity.load(directory: a.path)
        let second = try ProducerIdentity.load(directory: b.path)
        #expect(first.producer != second.producer)
    }

    @Test(arguments: ["zz\n", "", "123\n", "0123456789abcdef0123\n"])
    func corruptProducerFileIsAnErrorNotANewIdentity(_ content: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        writeFile(dir.path + "/producer-id", Array(content.utf8))
        #expect(throws: SpoolError.self) { try ProducerIdentity.load(directory: dir.path) }
    }

    @Test func corruptEpochIsAnError() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = try ProducerIdentity.load(directory: dir.path)
        writeFile(dir.path + "/epoch", Array("4294967295\n".utf8))
        #expect(throws: SpoolError.self) { try ProducerIdentity.load(directory: dir.path) }
    }
}

@Suite struct ShardRouterTests {
    static let shards = ["shard-a", "shard-b", "shard-c", "shard-d", "shard-e"]

    @Test func hashIsStableAcrossProcessesAndVersions() {
        // Pinned values: changing the hash moves visitors between shards in a running cluster.
        #expect(StableHash.fnv1a("".utf8) == 0xCBF2_9CE4_8422_2325)
        #expect(StableHash.fnv1a("a".utf8) == 0xAF63_DC4C_8601_EC8C)
        #expect(StableHash.fnv1a("foobar".utf8) == 0x8594_4171_F739_67E8)
        let router = ShardRouter(shards: Self.shards)
        let owners = (0..<8).map { router.shard(app: "shop", visitor: "v\($0)") ?? "" }
        #expect(owners == Self.pinnedOwners)
    }

    /// Computed independently by the 12-line Python reference in `Sources/CollectorCore/README.md` (Routing).
    static let pinnedOwners = ["shard-d", "shard-b", "shard-a", "shard-e", "shard-b", "shard-b", "shard-b", "shard-c"]

    @Test func orderOfShardsDoesNotMatter() {
        let forward = ShardRouter(shards: Self.shards)
        let backward = ShardRouter(shards: Self.shards.reversed())
        let shuffled = ShardRouter(shards: ["shard-c", "shard-a", "shard-e", "shard-b", "shard-d", "shard-a"])
        for n in 0..<10_000 {
            let visitor = "visitor-\(n)"
            let owner = forward.shard(app: "app", visitor: visitor)
            #expect(owner == backward.shard(app: "app", visitor: visitor))
            #expect(owner == shuffled.shard(app: "app", visitor: visitor))
        }
    }

    @Test func appAndVisitorAreSeparated() {
        #expect(ShardRouter.visitorKey(app: "ab", visitor: "c") != ShardRouter.visitorKey(app: "a", visitor: "bc"))
    }

    @Test func noShardsMeansNoRoute() {
        #expect(ShardRouter(shards: []).shard(app: "a", visitor: "v") == nil)
    }

    @Test(arguments: [2, 5, 16])
    func visitorsSpreadEvenly(shardCount: Int) {
        let router = ShardRouter(shards: (0..<shardCount).map { "sessiond-\($0)" })
        var counts = [Int](repeating: 0, count: shardCount)
        let visitors = 100_000
        for n in 0..<visitors {
            if let index = router.shardIndex(app: "web-shop", visitor: "\(n)-cookie") { counts[index] += 1 }
        }
        let expected = Double(visitors) / Double(shardCount)
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        // 99.9th percentile of chi-square with k-1 degrees of freedom is below 3k + 10 for these k.
        #expect(chiSquare < Double(3 * shardCount + 10), "counts \(counts), chi-square \(chiSquare)")
    }

    @Test func addingAShardMovesOnlyVisitorsToIt() {
        let before = ShardRouter(shards: Self.shards)
        let after = ShardRouter(shards: Self.shards + ["shard-f"])
        var moved = 0
        let visitors = 60_000
        for n in 0..<visitors {
            let old = before.shard(app: "app", visitor: "\(n)")
            let new = after.shard(app: "app", visitor: "\(n)")
            if old != new {
                moved += 1
                #expect(new == "shard-f", "a visitor moved between two old shards")
            }
        }
        // Ideal: 1/6 of the visitors move; allow sampling noise.
        let share = Double(moved) / Double(visitors)
        #expect(share > 0.15 && share < 0.185, "moved share \(share)")
    }

    @Test func removingAShardMovesOnlyItsVisitors() {
        let before = ShardRouter(shards: Self.shards)
        let after = ShardRouter(shards: Self.shards.filter { $0 != "shard-c" })
        for n in 0..<20_000 {
            let old = before.shard(app: "app", visitor: "\(n)")
            if old != "shard-c" { #expect(after.shard(app: "app", visitor: "\(n)") == old) }
        }
    }
}
