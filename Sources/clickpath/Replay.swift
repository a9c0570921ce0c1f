import SessionStore
#if canImport(Glibc)
import Glibc
#endif

/// `clickpath replay --db FILE [--limit N]`: recomputes every session from its stored events with
/// the stored config version, checks that every stored event is in exactly one session or is a
/// stored orphan heartbeat, and reports every difference: the first N (default 100) in full, one
/// `difference:` line each, then the total. Exit 0 when there is none, 1 when there are
/// differences, 2 when the file cannot be read.
enum ReplayCommand {
    static let usage = "usage: clickpath replay --db FILE [--limit N]"

    static func run(_ arguments: [String]) -> Int32 {
        var path: String?
        var limit = 100
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--db" where index + 1 < arguments.count:
                path = arguments[index + 1]
                index += 2
            case "--limit" where index + 1 < arguments.count:
                guard let n = Int(arguments[index + 1]), n >= 0 else {
                    fail("clickpath replay: --limit must be a whole number, got '\(arguments[index + 1])'\n\(usage)")
                }
                limit = n
                index += 2
            default:
                fail("clickpath replay: unknown or incomplete option '\(arguments[index])'\n\(usage)")
            }
        }
        guard let path else { fail(usage) }
        let report: Replay.Report
        do {
            report = try Replay.run(path: path, limit: limit)
        } catch {
            fail("clickpath replay: \(error)")
        }
        for line in report.differences { print("difference: \(line)") }
        if report.differenceCount > report.differences.count {
            print("replay: \(report.differenceCount - report.differences.count) more differences not listed (--limit \(limit))")
        }
        print("replay: \(report.visitors) visitors, \(report.events) events, \(report.sessions) sessions, "
              + "\(report.orphanHeartbeats) orphan heartbeats, \(report.differenceCount) differences")
        return report.differenceCount == 0 ? 0 : 1
    }
}
