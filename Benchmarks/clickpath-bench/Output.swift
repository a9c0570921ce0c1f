#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered stdout lines for the benches: a line is out before the next phase starts, even
/// when the bench is killed or piped.
enum Output {
    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(1, base + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
