// SIGTERM/SIGINT as events on a loop (graceful shutdown hooks) instead of the default death.
// The self-pipe trick: the C signal handler only write(2)s the signal number to a pipe (async
// signal safe, whatever thread the kernel picked), and the loop reads the pipe like any socket.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization

/// The pipe's write end, read by the signal handler. Written only under `Signals.lock`, before
/// the handler is installed.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

private let signalHandler: @convention(c) (Int32) -> Void = { number in
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteFD, &byte, 1)
}

/// Delivery of signals to a loop; `cancel()` restores the default actions and stops delivery.
public final class SignalSubscription: @unchecked Sendable {
    let reader: SignalReader
    let signals: [Int32]

    init(reader: SignalReader, signals: [Int32]) {
        self.reader = reader
        self.signals = signals
    }

    public func cancel() {
        for number in signals { Syscalls.restoreSignal(number) }
        let reader = self.reader
        reader.loop.execute { reader.close() }
    }
}

public enum Signals {
    private static let lock = Mutex(false)

    /// Runs `handler(signal)` on `loop` whenever one of `signals` arrives; their default action
    /// (terminate) no longer happens, so the handler decides: stop accepting, drain, exit.
    /// One subscription per process at a time; a new one replaces the previous.
    public static func deliver(_ signals: [Int32] = [SIGTERM, SIGINT], to loop: EventLoop,
                               _ handler: @escaping @Sendable (Int32) -> Void) throws(SyscallError) -> SignalSubscription {
        Syscalls.ignoreSIGPIPE()
        let ends = try Syscalls.pipe()
        let reader = SignalReader(readEnd: ends.readEnd, writeEnd: ends.writeEnd, loop: loop, handler: handler)
        lock.withLock { _ in
            signalPipeWriteFD = reader.writeFD
            for number in signals { Syscalls.installSignalHandler(number, signalHandler) }
        }
        loop.execute { reader.activate() }
        return SignalSubscription(reader: reader, signals: signals)
    }
}

final class SignalReader: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    private var readEnd: FileDescriptor?
    private var writeEnd: FileDescriptor?
    private let readFD: Int32
    let writeFD: Int32
    private let handler: @Sendable (Int32) -> Void

    init(readEnd: consuming FileDescriptor, writeEnd: consuming FileDescriptor, loop: EventLoop,
         handler: @escaping @Sendable (Int32) -> Void) {
        self.readFD = readEnd.rawValue
        self.writeFD = writeEnd.rawValue
        self.readEnd = consume readEnd
        self.writeEnd = consume writeEnd
        self.loop = loop
        self.handler = handler
    }

    func activate() {
        try? loop.register(fd: readFD, events: EPOLLIN.rawValue, handler: self)
    }

    func handleEvents(_ events: UInt32) {
        var bytes = [UInt8](repeating: 0, count: 64)
        while readEnd != nil, let count = try? Syscalls.read(readFD, &bytes, bytes.count), count > 0 {
            for byte in bytes[0..<count] { handler(Int32(byte)) }
        }
    }

    func close() {
        guard readEnd != nil else { return }
        loop.deregister(fd: readFD)
        readEnd = nil
        writeEnd = nil
    }

    func loopWillStop() {
        close()
    }
}
