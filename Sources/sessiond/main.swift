// sessiond: sessionization, SQLite persistence, query API. Filled by the sessiond issue.
#if canImport(Glibc)
import Glibc
#endif
import SessiondCore

_ = "sessiond: not implemented yet\n".withCString { write(2, $0, strlen($0)) }
exit(1)
