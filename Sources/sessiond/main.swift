// sessiond: one shard. Parses settings, starts SessiondCore's server, waits for SIGTERM/SIGINT.
#if canImport(Glibc)
import Glibc
#endif
import Config
import Foundation
import SessiondCore

func say(_ fd: Int32, _ text: String) {
    _ = text.withCString { write(fd, $0, strlen($0)) }
}

signal(SIGPIPE, SIG_IGN)
do {
    switch try SessiondSettings.parse(arguments: Array(CommandLine.arguments.dropFirst()),
                                      environment: SettingsSpec.processEnvironment(),
                                      readFile: { try? String(contentsOfFile: $0, encoding: .utf8) }) {
    case .help(let text):
        say(1, text)
        exit(0)
    case .run(let options, let settings):
        for name in settings.unknownEnvironment {
            say(2, "sessiond: warning: \(name) names no option of sessiond (see --help)\n")
        }
        let server = try SessiondServer.start(options)
        // "listening" is printed only once SIGTERM is handled: a supervisor may stop us right after.
        // One machine-readable line on stdout naming every address bound (deploy/README.md).
        server.runUntilSignalled {
            let http = HostPort(host: options.http.host, port: server.httpPort)
            let wire = HostPort(host: options.wire.host, port: server.wirePort)
            say(1, "listening http=\(http) wire=\(wire) shard=\(options.shardID)\n")
        }
    }
} catch let error as SettingsError {
    say(2, "sessiond: \(error)\n")
    exit(2)
} catch {
    say(2, "sessiond: cannot start: \(error)\n")
    exit(1)
}
