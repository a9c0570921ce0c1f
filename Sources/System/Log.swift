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
    public static let standardError = Log.lines(to: 2)

    /// One line per message on standard output: help texts, and the "listening" line a
    /// supervisor waits for.
    public static let standardOutput = Log.lines(to: 1)

    private static func lines(to fd: Int32) -> Log {
        Log { message in
            let line = message.hasSuffix("\n") ? message : message + "\n"
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { raw in
                var offset = 0
                while offset < raw.count, let base = raw.baseAddress {
                    let n = Glibc.write(fd, base + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; return }
                    offset += n
                }
            }
        }
    }
}

/// Lets one message of each kind through per interval and counts the ones it holds back.
/// Pure: the caller passes the time.
public struct RepeatLimiter: Sendable {
    public let intervalSeconds: Double
    private var kinds: [String: (printedAt: Double, suppressed: Int)] = [:]

    public init(intervalSeconds: Double) { self.intervalSeconds = intervalSeconds }

    /// nil: leave this one out. Otherwise log it, with the count left out since the last one.
    public mutating func admit(_ kind: String, now: Double) -> Int? {
        if let last = kinds[kind], now - last.printedAt < intervalSeconds {
            kinds[kind] = (last.printedAt, last.suppressed + 1)
            return nil
        }
        let suppressed = kinds[kind]?.suppressed ?? 0
        kinds[kind] = (now, 0)
        return suppressed
    }
}
