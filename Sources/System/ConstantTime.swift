// Secret comparison for both daemons (the collector's app keys, sessiond's admin token).

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
/// Unequal lengths are unequal.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0 && a.count == b.count
}

/// `constantTimeEqual` of the UTF-8 bytes.
public func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
    constantTimeEqual(Array(lhs.utf8), Array(rhs.utf8))
}
