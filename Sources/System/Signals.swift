// Signals of both daemons, one scheme: the self-pipe trick. The C signal handler only write(2)s
// the signal number to a pipe (async signal safe, whatever thread the kernel picked); whoever
// reads the pipe's read end (Transport's `Signals.deliver` puts it on an event loop) runs the
// daemon's handler like any other event: stop accepting, drain, exit; reload apps.json.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The pipe's write end, read by the signal handler. Written only under `Signals.lock`, before
/// the handler is installed.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

private let signalHandler: @convention(c) (Int32) -> Void = { number in
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteFD, &byte, 1)
}

public enum Signals {
    private static let lock = Mutex(false)

    /// Unblocks `signals` in the calling thread. A supervisor (or a test harness) may start a
    /// daemon with them blocked, and every thread inherits the mask: call this first in `main`,
    /// before any thread exists, or SIGTERM would never arrive.
    public static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals { sigaddset(&set, number) }
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }

    /// Catches `signals` from now on: each arrival writes its number (one byte) to the returned
    /// pipe, non-blocking on both ends; their default action (terminate) no longer happens.
    /// Ignores SIGPIPE too. One pipe per process at a time; a new one replaces the previous.
    public static func install(_ signals: [Int32]) throws(SyscallError) -> PipeEnds {
        Syscalls.ignoreSIGPIPE()
        let ends = try Syscalls.pipe()
        let writeFD = ends.writeEnd.rawValue
        lock.withLock { _ in
            signalPipeWriteFD = writeFD
            for number in signals { Syscalls.installSignalHandler(number, signalHandler) }
        }
        return ends
    }

    /// Gives `signals` their default action back.
    public static func restoreDefaults(_ signals: [Int32]) {
        for number in signals { Syscalls.restoreSignal(number) }
    }
}
