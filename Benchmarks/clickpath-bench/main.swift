// clickpath-bench: every benchmark, each against its reference in the same run. Not part of the
// product: `swift run -c release clickpath-bench <name> [options]` (figures: Benchmarks/README.md).
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: clickpath-bench <benchmark> [options]

benchmarks:
  wire        Wire encode/decode vs Foundation JSON, same run
  json        JSON reader vs JSONSerialization and JSONDecoder, same run
  http        HTTP server vs nginx, same run
  store       SessionStore vs raw SQLite, same run
  sessionizer Sessionizer bytes per live session, fast path vs pure function, same run
  sessiond    sessiond durable ingest vs raw SQLite, same run
  ingress     collector ingress vs nginx, same run
  pipeline    collector + sessiond end to end vs raw SQLite, same run
  spool       collector spool group commit vs one fsync per record, same run
  collector   collector over HTTP and Wire per ack mode (stand-in shard), same run
  device      User-Agent device rules uncached vs the per-loop cache, same run

"""

func fail(_ message: String) -> Never {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let which = arguments.first else { fail(usage) }
let rest = Array(arguments.dropFirst())
switch which {
case "wire": exit(WireBench.run(rest))
case "ingress": exit(IngressBench.run(rest))
case "store": exit(StoreBench.run(rest))
case "sessionizer": exit(SessionizerBench.run(rest))
case "sessiond": exit(SessiondBench.run(rest))
case "json": exit(JSONBench.run(rest))
case "http": exit(HTTPBench.run(rest))
case "spool": exit(SpoolBench.run(rest))
case "collector": exit(CollectorBench.run(rest))
case "pipeline": exit(PipelineBench.run(rest))
case "device": exit(DeviceBench.run(rest))
case "-h", "--help", "help": print(usage, terminator: "")
default: fail("clickpath-bench: unknown benchmark '\(which)'\n\n" + usage)
}
