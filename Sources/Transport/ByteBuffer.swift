// A growable byte buffer with read and write indices, owned by one connection and reused for
// its whole life (a fresh buffer per read shows up in profiles; a reused one does not).

struct ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var start = 0
    var end = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    /// Frees the memory; the buffer must not be used afterwards.
    func deallocate() {
        base.deallocate()
    }

    var readable: Int { end - start }
    var writable: Int { capacity - end }
    var readPointer: UnsafeMutableRawPointer { base + start }
    var writePointer: UnsafeMutableRawPointer { base + end }
    var readableBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: end - start) }

    mutating func consume(_ count: Int) {
        start += count
        if start >= end {
            start = 0
            end = 0
        }
    }

    /// Makes room for at least `count` more bytes: moves unread bytes to the front, then grows.
    mutating func reserve(_ count: Int) {
        if writable >= count { return }
        if start > 0 {
            let unread = readable
            if unread > 0 { (base).copyMemory(from: base + start, byteCount: unread) }
            start = 0
            end = unread
            if writable >= count { return }
        }
        var newCapacity = capacity
        while newCapacity - end < count { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: end)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Gives memory back after a burst (a big pipelined batch), keeping the unread bytes.
    mutating func shrink(to target: Int) {
        guard capacity > target, readable <= target else { return }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: 16)
        let unread = readable
        if unread > 0 { newBase.copyMemory(from: base + start, byteCount: unread) }
        base.deallocate()
        base = newBase
        capacity = target
        start = 0
        end = unread
    }

    @inline(__always)
    mutating func append(_ pointer: UnsafeRawPointer, _ count: Int) {
        reserve(count)
        (base + end).copyMemory(from: pointer, byteCount: count)
        end += count
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let pointer = bytes.baseAddress, bytes.count > 0 else { return }
        append(pointer, bytes.count)
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(text.utf8Start, text.utf8CodeUnitCount)
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: end, as: UInt8.self)
        end += 1
    }

    /// Appends a non-negative decimal number.
    mutating func appendDecimal(_ value: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = value < 0 ? 0 : value
        var n = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - n] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                n += 1
            } while v > 0 && n < 20
            append(UnsafeRawBufferPointer(rebasing: raw[(20 - n)...]))
        }
    }
}
