// libFuzzer target for the JSON reader: Tests/Fuzz/run.sh json SECONDS
// JSONReaderCheck lists the properties (shared with the corpus replay in JSONTests); nothing may
// trap, and a broken property traps here.
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let problems = JSONReaderCheck.run(Array(UnsafeBufferPointer(start: data, count: size)))
    precondition(problems.isEmpty, problems.joined(separator: "; "))
    return 0
}
