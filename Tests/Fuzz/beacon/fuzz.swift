// libFuzzer target: the beacon parser, per-event decisions, answers and the whole admission of
// an uncompressed body (BeaconFuzzCheck lists the invariants; a violation traps).
import Beacon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let problems = BeaconFuzzCheck.run(UnsafeRawBufferPointer(start: data, count: size))
    if !problems.isEmpty { fatalError(problems.joined(separator: "; ")) }
    return 0
}
