import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// Placeholder until the harness is written.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    _ = input.count
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
