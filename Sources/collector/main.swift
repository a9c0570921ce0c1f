// collector: HTTP beacon ingress. Filled by the collector issues.
#if canImport(Glibc)
import Glibc
#endif
import CollectorCore

_ = "collector: not implemented yet\n".withCString { write(2, $0, strlen($0)) }
exit(1)
