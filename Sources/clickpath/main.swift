// clickpath: the operator's tool. Benchmarks, replay and maintenance commands.
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: clickpath <command> [options]

commands:
  bench wire        Wire encode/decode vs Foundation JSON, same run
  bench json        JSON reader vs JSONSerialization and JSONDecoder, same run
  bench http        HTTP server vs nginx, same run
  bench store       SessionStore vs raw SQLite, same run
  bench sessionizer Sessionizer bytes per live session, fast path vs pure function, same run
  bench sessiond    sessiond durable ingest vs raw SQLite, same run
  bench ingress     collector ingress vs nginx, same run
  bench pipeline    collector + sessiond end to end vs raw SQLite, same run
  bench spool       collector spool group commit vs one fsync per record, same run
  bench collector   collector over HTTP and Wire per ack mode (stand-in shard), same run
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
case "bench":
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
    default: fail("clickpath bench: unknown benchmark '\(which)'\n\n" + usage)
    }
case "replay": exit(ReplayCommand.run(arguments))
case "store-writer": exit(StoreWriter.run(arguments))
case "spool-writer": exit(SpoolWriterCommand.run(arguments))
case "-h", "--help", "help":
    print(usage, terminator: "")
default:
    fail("clickpath: unknown command '\(command)'\n\n" + usage)
}
