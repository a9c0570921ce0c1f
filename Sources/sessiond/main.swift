// sessiond: one shard. Parses options, starts SessiondCore's server, waits for SIGTERM/SIGINT.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SessiondCore

func say(_ fd: Int32, _ text: String) {
    _ = text.withCString { write(fd, $0, strlen($0)) }
}

signal(SIGPIPE, SIG_IGN)
if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
    say(1, SessiondOptions.help)
    exit(0)
}
do {
    let options = try SessiondOptions.parse(Array(CommandLine.arguments.dropFirst()),
                                            environment: ProcessInfo.processInfo.environment,
                                            readFile: { try? String(contentsOfFile: $0, encoding: .utf8) })
    let server = try SessiondServer.start(options)
    say(1, "listening wire=\(server.wirePort) http=\(server.httpPort) shard=\(options.shardID)\n")
    server.runUntilSignalled()
} catch let error as SessiondOptions.ParseError {
    say(2, "\(error)\n")
    exit(2)
} catch {
    say(2, "sessiond: cannot start: \(error)\n")
    exit(1)
}
