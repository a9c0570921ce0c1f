import Model

/// A 64-bit digest over a canonical encoding, word at a time (multiply-xorshift mixing, in the
/// spirit of FNV-1a but 8 bytes per step). Stable across processes (unlike `Hasher`), so a
/// fingerprint stored by one run compares equal in the next.
struct Fingerprint {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always) mutating func add(_ word: UInt64) {
        value = (value ^ word) &* 0x9e37_79b9_7f4a_7c15
        value ^= value >> 29
    }

    mutating func add(_ number: Int64) { add(UInt64(bitPattern: number)) }
    mutating func add(_ number: Int) { add(UInt64(bitPattern: Int64(number))) }
    mutating func add(_ flag: Bool) { add(flag ? 1 as UInt64 : 2) }

    mutating func add(_ text: String?) {
        guard var text else {
            add(0 as UInt64)
            return
        }
        text.withUTF8 { bytes in
            add(UInt64(bytes.count) | 1 << 63)
            var offset = 0
            while offset &+ 8 <= bytes.count {
                add(UInt64(littleEndian: UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset &+= 8
            }
            if offset < bytes.count {
                var word: UInt64 = 0
                var shift: UInt64 = 0
                while offset < bytes.count {
                    word |= UInt64(bytes[offset]) << shift
                    shift &+= 8
                    offset &+= 1
                }
                add(word)
            }
        }
    }

    /// Seed of the in-memory-only item hashes (rating matches of actions, views and error
    /// parents): random per process, so ids crafted to collide in one run collide in no other.
    static let processSeed = UInt64.random(in: .min ... .max)

    /// A hash kept in memory only, never stored: seeded (see `processSeed`).
    static func hash(_ text: String, seed: UInt64) -> UInt64 {
        var fingerprint = Fingerprint()
        fingerprint.add(seed)
        fingerprint.add(text)
        return fingerprint.value
    }

    static func hash(_ text: String) -> UInt64 {
        var fingerprint = Fingerprint()
        fingerprint.add(text)
        return fingerprint.value
    }

    static func of(previous: SessionID?, summary s: SessionSummary) -> UInt64 {
        var f = Fingerprint()
        f.add(previous != nil)
        f.add(previous?.high ?? 0)
        f.add(previous?.low ?? 0)
        f.add(UInt64(s.platform.rawValue))
        f.add(s.visitor)
        f.add(s.user)
        f.add(s.clientSession)
        f.add(s.device != nil)
        if let device = s.device {
            f.add(device.browser)
            f.add(device.browserVersion)
            f.add(device.os)
            f.add(device.osVersion)
            f.add(device.deviceType)
            f.add(device.screen)
            f.add(device.appVersion)
        }
        f.add(s.firstEvent.ts)
        f.add(s.firstEvent.id)
        f.add(s.lastEvent.ts)
        f.add(s.lastEvent.id)
        f.add(s.start)
        f.add(s.end)
        f.add(s.duration)
        f.add(s.activeTime)
        f.add(s.eventCount)
        f.add(s.views)
        f.add(s.actions)
        f.add(s.requests)
        f.add(s.resources)
        f.add(s.errors)
        f.add(s.failedRequests)
        f.add(s.failedResources)
        f.add(s.crashes)
        f.add(s.heartbeats)
        f.add(s.entryPage)
        f.add(s.exitPage)
        f.add(s.pagesVisited.count)
        for page in s.pagesVisited { f.add(page) }
        f.add(s.live)
        f.add(s.endReason?.rawValue)
        f.add(s.continued)
        f.add(s.ratings.satisfied)
        f.add(s.ratings.tolerating)
        f.add(s.ratings.frustrated)
        f.add(s.lastRating?.rawValue)
        f.add(s.experience?.rawValue)
        f.add(s.healthReasons.crashes)
        f.add(s.healthReasons.errors)
        f.add(s.healthReasons.failedRequests)
        f.add(s.healthReasons.failedResources)
        f.add(s.healthReasons.frustratedActions)
        return f.value
    }
}
