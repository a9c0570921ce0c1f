// The one UTF-8 validator of the daemons: Wire strings, query strings, cursors, spool names.
// Pure and allocation-free, so the pure modules and the fuzzers use it too.

/// Well-formed UTF-8 as Unicode Table 3-7 defines it: no overlong forms, no surrogates, nothing
/// above U+10FFFF, no truncated sequence. ASCII runs are checked eight bytes at a time.
public func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let count = bytes.count
    guard let base = bytes.baseAddress else { return true }
    var index = 0
    while index < count {
        if count &- index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 == 0 {
                index &+= 8
                continue
            }
        }
        let lead = base[index]
        if lead < 0x80 {
            index &+= 1
            continue
        }
        guard let length = wellFormedUTF8SequenceLength(base, at: index, count: count) else { return false }
        index &+= length
    }
    return true
}

/// The length (2 to 4) of the well-formed UTF-8 sequence whose lead byte (0x80 or above) is at
/// `index` of `base[0..<count]`, or nil when none starts there: an overlong form, a surrogate,
/// a scalar above U+10FFFF, a bad continuation byte or a sequence cut short (Table 3-7).
/// Inlinable: the JSON reader calls it for every non-ASCII character of a string.
@inlinable
public func wellFormedUTF8SequenceLength(_ base: UnsafePointer<UInt8>, at index: Int, count: Int) -> Int? {
    let length: Int
    var low: UInt8 = 0x80
    var high: UInt8 = 0xBF
    switch base[index] {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; high = 0x9F
    case 0xF0: length = 4; low = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; high = 0x8F
    default: return nil
    }
    guard count &- index >= length else { return nil }
    let second = base[index &+ 1]
    guard second >= low && second <= high else { return nil }
    var next = index &+ 2
    while next < index &+ length {
        guard base[next] & 0xC0 == 0x80 else { return nil }
        next &+= 1
    }
    return length
}

/// `bytes` as a String when they are well-formed UTF-8 (`isValidUTF8`), else nil.
public func validatedString(_ bytes: [UInt8]) -> String? {
    let valid = bytes.withUnsafeBufferPointer { isValidUTF8($0) }
    return valid ? String(decoding: bytes, as: UTF8.self) : nil
}
