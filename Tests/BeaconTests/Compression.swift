import CZlib

/// Test helper: compresses with zlib's deflate, the same library a browser's gzip matches.
enum Compression {
    enum Format {
        case gzip, zlib, raw
        var windowBits: Int32 {
            switch self {
            case .gzip: 15 + 16
            case .zlib: 15
            case .raw: -15
            }
        }
    }

    static func compress(_ input: [UInt8], format: Format, level: Int32 = 6) -> [UInt8] {
        let deflater = Deflater(format: format, level: level)
        input.withUnsafeBufferPointer { deflater.feed($0, last: true) }
        return deflater.output
    }

    /// Compresses `totalBytes` zero bytes without ever holding them: a compression bomb built on the fly.
    static func zeroBomb(totalBytes: Int, format: Format) -> [UInt8] {
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        let deflater = Deflater(format: format, level: 9)
        var remaining = totalBytes
        chunk.withUnsafeBufferPointer { buffer in
            while remaining > 0 {
                let count = min(remaining, buffer.count)
                remaining -= count
                deflater.feed(UnsafeBufferPointer(rebasing: buffer[0..<count]), last: remaining == 0)
            }
        }
        return deflater.output
    }

    final class Deflater {
        private var z = z_stream()
        private var scratch = [UInt8](repeating: 0, count: 64 << 10)
        private(set) var output: [UInt8] = []

        init(format: Format, level: Int32) {
            precondition(clickpath_deflate_init2(&z, level, format.windowBits) == Z_OK)
        }

        deinit { deflateEnd(&z) }

        func feed(_ input: UnsafeBufferPointer<UInt8>, last: Bool) {
            z.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            z.avail_in = UInt32(input.count)
            var code: Int32 = Z_OK
            repeat {
                scratch.withUnsafeMutableBufferPointer { buffer in
                    z.next_out = buffer.baseAddress
                    z.avail_out = UInt32(buffer.count)
                    code = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH)
                    precondition(code != Z_STREAM_ERROR)
                    output.append(contentsOf: buffer[0..<(buffer.count - Int(z.avail_out))])
                }
            } while z.avail_out == 0 || (last && code != Z_STREAM_END)
        }
    }
}
