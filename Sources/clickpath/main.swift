// clickpath: the operator's tool. Replay and maintenance commands. (The benchmarks are the
// separate `clickpath-bench` executable under Benchmarks/.)
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: clickpath <command> [options]

commands:
  replay --db FILE  recompute every session from stored events and report differences

"""

func fail(_ message: String) -> Never {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail(usage) }
arguments.removeFirst()

switch command {
case "replay": exit(ReplayCommand.run(arguments))
case "bench": fail("clickpath: the benchmarks are the clickpath-bench executable: swift run -c release clickpath-bench \(arguments.first ?? "NAME")")
case "-h", "--help", "help":
    print(usage, terminator: "")
default:
    fail("clickpath: unknown command '\(command)'\n\n" + usage)
}
