#if canImport(Glibc)
import Glibc
#endif

/// Where a daemon's operational messages go (both daemons). Injected so tests can read them.
public struct Log: Sendable {
    public let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// One line per message on standard error (fd 2; the `stderr` global is not concurrency-safe).
    public static let standardError = Log { message in
        let line = message.hasSuffix("\n") ? message : message + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(2, base + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}
