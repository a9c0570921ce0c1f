// libFuzzer target: gzip and deflate inflation under small bounds (InflateFuzzCheck lists the
// invariants; a violation traps).
import Beacon

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let problems = InflateFuzzCheck.run(UnsafeRawBufferPointer(start: data, count: size))
    if !problems.isEmpty { fatalError(problems.joined(separator: "; ")) }
    return 0
}
