// Rendezvous (highest random weight) hashing of (app, visitor) over shard ids: every collector
// computes the same shard for a visitor from the shard ids alone, whatever order they are listed
// in, and adding a shard moves only the visitors that now score highest on the new shard.
//
// The hash is part of the cluster's contract: every collector must compute it identically, so it
// is spelled out here (FNV-1a 64 with the murmur3 64-bit finalizer) and never Swift's per-process
// randomized `Hasher`. Changing it moves visitors between shards.

/// A stable 64-bit hash of bytes: FNV-1a, then the murmur3 `fmix64` finalizer for avalanche
/// (plain FNV-1a mixes its last bytes poorly into the high bits).
public enum StableHash {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    @inline(__always)
    public static func fnv1a(_ bytes: some Sequence<UInt8>, seed: UInt64 = offsetBasis) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* prime
        }
        return hash
    }

    @inline(__always)
    public static func fmix64(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k = k &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}

/// Routes a visitor to one shard id.
public struct ShardRouter: Sendable {
    public let shards: [String]
    private let shardHashes: [UInt64]

    /// `shards` are the stable shard ids that sessiond instances announce in the Wire handshake.
    /// Duplicates are ignored; the order does not matter.
    public init(shards: [String]) {
        var seen = Set<String>()
        let unique = shards.filter { seen.insert($0).inserted }
        self.shards = unique
        self.shardHashes = unique.map { StableHash.fmix64(StableHash.fnv1a($0.utf8)) }
    }

    /// The hash of (app, visitor). 0xFF never occurs in UTF-8, so it separates the two fields
    /// unambiguously ("ab"+"c" and "a"+"bc" differ).
    public static func visitorKey(app: String, visitor: String) -> UInt64 {
        var hash = StableHash.fnv1a(app.utf8)
        hash = StableHash.fnv1a(CollectionOfOne(0xFF), seed: hash)
        return StableHash.fnv1a(visitor.utf8, seed: hash)
    }

    /// The weight of `shardHash` for `key`; the shard with the highest weight wins.
    @inline(__always)
    static func weight(key: UInt64, shardHash: UInt64) -> UInt64 {
        StableHash.fmix64(key ^ shardHash)
    }

    /// Index into `shards` of the shard that owns (app, visitor), or nil when there is no shard.
    public func shardIndex(app: String, visitor: String) -> Int? {
        shardIndex(key: Self.visitorKey(app: app, visitor: visitor))
    }

    public func shardIndex(key: UInt64) -> Int? {
        var best: Int?
        var bestWeight: UInt64 = 0
        for (index, shardHash) in shardHashes.enumerated() {
            let w = Self.weight(key: key, shardHash: shardHash)
            // Ties (astronomically rare) go to the smaller id so the answer stays order-free.
            if let current = best {
                if w > bestWeight || (w == bestWeight && shards[index] < shards[current]) {
                    best = index
                    bestWeight = w
                }
            } else {
                best = index
                bestWeight = w
            }
        }
        return best
    }

    /// The shard id that owns (app, visitor).
    public func shard(app: String, visitor: String) -> String? {
        shardIndex(app: app, visitor: visitor).map { shards[$0] }
    }
}
