// crash-writer: writers that the real-process tests of EndToEndTests SIGKILL mid-write (a
// SessionStore transaction, a spool group commit) to prove what survives. Test-only: not part
// of the product, never installed.
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

let usage = "usage: crash-writer store-writer --db FILE [--batches N] | spool-writer --dir DIR [--count N]"
var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail(usage) }
arguments.removeFirst()
switch command {
case "store-writer": exit(StoreWriter.run(arguments))
case "spool-writer": exit(SpoolWriterCommand.run(arguments))
default: fail("crash-writer: unknown command '\(command)'\n" + usage)
}
