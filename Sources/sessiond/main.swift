// sessiond: one shard. Parses settings, starts SessiondCore's server, waits for SIGTERM/SIGINT.
#if canImport(Glibc)
import Glibc
#endif
import Config
import Foundation
import SessiondCore
import System

// A supervisor may start us with these signals blocked; threads inherit the mask.
Signals.unblock([SIGTERM, SIGINT, SIGHUP])
Syscalls.ignoreSIGPIPE()
do {
    switch try SessiondSettings.parse(arguments: Array(CommandLine.arguments.dropFirst()),
                                      environment: SettingsSpec.processEnvironment(),
                                      readFile: { try? String(contentsOfFile: $0, encoding: .utf8) }) {
    case .help(let text):
        Log.standardOutput.write(text)
        exit(0)
    case .run(let options, let settings):
        for name in settings.unknownEnvironment {
            Log.standardError.write("sessiond: warning: \(name) names no option of sessiond (see --help)\n")
        }
        let server = try SessiondServer.start(options)
        // "listening" is printed only once SIGTERM is handled: a supervisor may stop us right after.
        // One machine-readable line on stdout naming every address bound (deploy/README.md).
        server.runUntilSignalled {
            let http = HostPort(host: options.http.host, port: server.httpPort)
            let wire = HostPort(host: options.wire.host, port: server.wirePort)
            Log.standardOutput.write("listening http=\(http) wire=\(wire) shard=\(options.shardID)\n")
        }
    }
} catch let error as SettingsError {
    Log.standardError.write("sessiond: \(error)\n")
    exit(2)
} catch {
    Log.standardError.write("sessiond: cannot start: \(error)\n")
    exit(1)
}
