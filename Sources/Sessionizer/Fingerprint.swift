import Wire

/// FNV-1a 64 over a canonical encoding: stable across processes (unlike `Hasher`), so a
/// fingerprint stored by one run compares equal in the next.
struct Fingerprint {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ number: UInt64) {
        var rest = number
        for _ in 0..<8 {
            add(byte: UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
    }

    mutating func add(_ number: Int64) { add(UInt64(bitPattern: number)) }
    mutating func add(_ number: Int) { add(Int64(number)) }
    mutating func add(_ flag: Bool) { add(byte: flag ? 1 : 0) }

    mutating func add(_ text: String?) {
        guard let text else {
            add(byte: 0)
            return
        }
        add(byte: 1)
        add(text.utf8.count)
        for byte in text.utf8 { add(byte: byte) }
    }

    static func hash(_ text: String) -> UInt64 {
        var fingerprint = Fingerprint()
        for byte in text.utf8 { fingerprint.add(byte: byte) }
        return fingerprint.value
    }

    static func of(previous: SessionID?, summary s: SessionSummary) -> UInt64 {
        var f = Fingerprint()
        f.add(previous != nil)
        f.add(previous?.high ?? 0)
        f.add(previous?.low ?? 0)
        f.add(byte: s.platform.rawValue)
        f.add(s.visitor)
        f.add(s.user)
        f.add(s.clientSession)
        f.add(s.device != nil)
        if let device = s.device {
            for field in [device.browser, device.browserVersion, device.os, device.osVersion,
                          device.deviceType, device.screen, device.appVersion] {
                f.add(field)
            }
        }
        f.add(s.firstEvent.ts)
        f.add(s.firstEvent.id)
        f.add(s.lastEvent.ts)
        f.add(s.lastEvent.id)
        for number in [s.start, s.end, s.duration, s.activeTime] { f.add(number) }
        for count in [s.eventCount, s.views, s.actions, s.requests, s.resources, s.errors,
                      s.failedRequests, s.failedResources, s.crashes, s.heartbeats] {
            f.add(count)
        }
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
        let reasons = s.healthReasons
        for count in [reasons.crashes, reasons.errors, reasons.failedRequests, reasons.failedResources,
                      reasons.frustratedActions] {
            f.add(count)
        }
        return f.value
    }
}
