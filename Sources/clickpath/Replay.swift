import SessionStore
#if canImport(Glibc)
import Glibc
#endif

/// `clickpath replay --db FILE`: recomputes every session from its stored events with the stored
/// config version and lists every difference. Exit 0 when there is none, 1 when there are
/// differences, 2 when the file cannot be read.
enum ReplayCommand {
    static func run(_ arguments: [String]) -> Int32 {
        var path: String?
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--db" where index + 1 < arguments.count:
                path = arguments[index + 1]
                index += 2
            default:
                fail("clickpath replay: unknown or incomplete option '\(arguments[index])'\nusage: clickpath replay --db FILE")
            }
        }
        guard let path else { fail("usage: clickpath replay --db FILE") }
        let report: Replay.Report
        do {
            report = try Replay.run(path: path)
        } catch {
            fail("clickpath replay: \(error)")
        }
        for line in report.differences { print("difference: \(line)") }
        print("replay: \(report.visitors) visitors, \(report.events) events, \(report.sessions) sessions, "
              + "\(report.differences.count) differences")
        return report.differences.isEmpty ? 0 : 1
    }
}
