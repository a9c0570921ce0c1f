import CZlib

/// Compresses with zlib (the collector's own static files; beacons are only ever inflated).
public enum Deflate {
    /// `input` as one gzip member (RFC 1952) at zlib `level` (1 fastest ... 9 smallest, like `gzip -9`).
    public static func gzip(_ input: [UInt8], level: Int32 = 9) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: a gzip header and trailer around the deflate stream.
        guard clickpath_deflate_init2(&stream, level, 15 + 16) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var produced = 0
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                // deflateBound guarantees one Z_FINISH call suffices.
                if CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END {
                    produced = target.count - Int(stream.avail_out)
                }
            }
        }
        return Array(output[0..<produced])
    }
}
