import CZlib

/// The `Content-Encoding` of a beacon body.
public enum ContentEncoding: Sendable, Equatable {
    case identity
    case gzip
    /// HTTP "deflate": zlib-wrapped per RFC 9110, but raw deflate from older clients is accepted too.
    case deflate

    /// Parses a header value (case-insensitive, surrounding spaces ignored; absent or empty is identity).
    public init(headerValue: some BidirectionalCollection<UInt8>) throws(BeaconError) {
        var trimmed = headerValue[...]
        while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last == 0x20 || last == 0x09 { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty || asciiEqualsIgnoringCase(trimmed, "identity") {
            self = .identity
        } else if asciiEqualsIgnoringCase(trimmed, "gzip") || asciiEqualsIgnoringCase(trimmed, "x-gzip") {
            self = .gzip
        } else if asciiEqualsIgnoringCase(trimmed, "deflate") {
            self = .deflate
        } else {
            throw .unsupportedContentEncoding(String(decoding: trimmed.prefix(64), as: UTF8.self))
        }
    }
}

/// Bounds that make a compression bomb cheap to refuse.
public struct InflateLimits: Sendable, Equatable {
    /// Absolute bound on the inflated body; never more than this (plus one byte) is allocated.
    public var maxInflatedBytes: Int
    /// Inflated size may not exceed `maxRatio` times the compressed size...
    public var maxRatio: Int
    /// ...once it is past this many bytes, so small bodies that compress very well still pass.
    public var ratioFloor: Int

    public init(maxInflatedBytes: Int = 10 << 20, maxRatio: Int = 100, ratioFloor: Int = 1 << 20) {
        self.maxInflatedBytes = max(0, maxInflatedBytes)
        self.maxRatio = max(1, maxRatio)
        self.ratioFloor = max(0, ratioFloor)
    }

    /// The most bytes a compressed body of `compressedCount` bytes may inflate to.
    func allowedOutput(compressedCount: Int) -> (bytes: Int, ratioBound: Bool) {
        let (byRatio, overflow) = maxRatio.multipliedReportingOverflow(by: compressedCount)
        let ratioAllowance = overflow ? Int.max : max(ratioFloor, byRatio)
        return ratioAllowance < maxInflatedBytes ? (ratioAllowance, true) : (maxInflatedBytes, false)
    }
}

/// Inflates gzip and deflate bodies within `InflateLimits`.
public enum Inflate {
    /// Inflates `input` into `output` (replacing its contents, reusing its storage).
    /// Throws `.bodyTooLarge` or `.compressionRatioExceeded` (413) as soon as the output would pass
    /// the bound, `.corruptCompressedBody` or `.truncatedCompressedBody` (400) for bad streams.
    /// `output` never grows past the bound plus one byte.
    public static func inflate(_ input: UnsafeRawBufferPointer, encoding: ContentEncoding,
                               limits: InflateLimits = InflateLimits(),
                               into output: inout [UInt8]) throws(BeaconError) {
        output.removeAll(keepingCapacity: true)
        switch encoding {
        case .identity:
            guard input.count <= limits.maxInflatedBytes else { throw .bodyTooLarge(limit: limits.maxInflatedBytes) }
            output.append(contentsOf: input)
        case .gzip:
            // 15 + 16: gzip header only; concatenated gzip members are allowed (RFC 1952).
            try run(input, windowBits: 15 + 16, multiMember: true, limits: limits, into: &output)
        case .deflate:
            if looksZlibWrapped(input) {
                do {
                    try run(input, windowBits: 15, multiMember: false, limits: limits, into: &output)
                    return
                } catch .corruptCompressedBody where output.isEmpty {
                    // A raw stream whose first two bytes happen to look like a zlib header.
                }
            }
            try run(input, windowBits: -15, multiMember: false, limits: limits, into: &output)
        }
    }

    /// Convenience for tests and tools: inflates a byte array into a new array.
    public static func inflate(_ input: [UInt8], encoding: ContentEncoding,
                               limits: InflateLimits = InflateLimits()) throws(BeaconError) -> [UInt8] {
        var output: [UInt8] = []
        var failure: BeaconError?
        input.withUnsafeBytes { raw in
            do throws(BeaconError) {
                try inflate(raw, encoding: encoding, limits: limits, into: &output)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return output
    }

    /// RFC 1950 header: compression method 8, window ≤ 32 KiB, header checksum a multiple of 31.
    static func looksZlibWrapped(_ input: UnsafeRawBufferPointer) -> Bool {
        guard input.count >= 2 else { return false }
        let cmf = UInt16(input[0]), flg = UInt16(input[1])
        return cmf & 0x0F == 8 && cmf >> 4 <= 7 && (cmf << 8 | flg) % 31 == 0
    }

    private static func run(_ input: UnsafeRawBufferPointer, windowBits: Int32, multiMember: Bool,
                            limits: InflateLimits, into output: inout [UInt8]) throws(BeaconError) {
        output.removeAll(keepingCapacity: true)
        guard let inputBase = input.baseAddress, input.count > 0 else { throw .truncatedCompressedBody }
        guard let inputCount = UInt32(exactly: input.count) else { throw .bodyTooLarge(limit: Int(UInt32.max)) }
        let (allowed, ratioBound) = limits.allowedOutput(compressedCount: input.count)
        let limitError: BeaconError = ratioBound
            ? .compressionRatioExceeded(limit: limits.maxRatio)
            : .bodyTooLarge(limit: limits.maxInflatedBytes)
        // One byte past the bound tells "exactly at the bound" from "over it".
        let hardCap = allowed == Int.max ? Int.max : allowed + 1

        var stream = z_stream()
        guard clickpath_inflate_init2(&stream, windowBits) == Z_OK else {
            throw .corruptCompressedBody("zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: inputBase.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = inputCount

        var produced = 0
        var storage = output
        output = []
        defer {
            storage.removeSubrange(produced...)
            output = storage
        }
        while true {
            if produced == storage.count {
                if storage.count >= hardCap { throw limitError }
                let target = min(hardCap, max(storage.count &* 2, 16 << 10, min(input.count &* 4, 1 << 20)))
                storage.reserveCapacity(target)
                storage.append(contentsOf: repeatElement(0, count: target - storage.count))
            }
            let code: Int32 = storage.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return Z_MEM_ERROR }
                let room = buffer.count - produced
                stream.next_out = base + produced
                stream.avail_out = UInt32(clamping: room)
                let code = CZlib.inflate(&stream, Z_NO_FLUSH)
                produced += room - Int(stream.avail_out)
                return code
            }
            if produced > allowed { throw limitError }
            switch code {
            case Z_OK:
                continue
            case Z_STREAM_END:
                guard stream.avail_in > 0 else { return }
                guard multiMember else { throw .corruptCompressedBody("data after the end of the stream") }
                guard inflateReset(&stream) == Z_OK else { throw .corruptCompressedBody("cannot read the next gzip member") }
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grow and retry) or the input ended early.
                if stream.avail_in == 0 { throw .truncatedCompressedBody }
                if stream.avail_out != 0 { throw .corruptCompressedBody("no progress") }
            case Z_NEED_DICT:
                throw .corruptCompressedBody("stream needs a preset dictionary")
            case Z_MEM_ERROR:
                throw .corruptCompressedBody("out of memory")
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw .corruptCompressedBody(detail)
            }
        }
    }
}

/// ASCII case-insensitive equality of bytes with a lowercase ASCII literal.
@inline(__always)
func asciiEqualsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
    guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
    var index = 0
    let literal = lowercase.utf8Start
    for byte in bytes {
        let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        if folded != literal[index] { return false }
        index += 1
    }
    return true
}
