import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// A `.safetensors` file: validated when opened, then every tensor is read in full, so a view
/// that the validation let past the end of the buffer is caught by the address sanitizer.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    do {
        let file = try SafeTensorsFile(file: MappedFile(path: "fuzz.safetensors", contents: input))
        for name in file.tensorNames {
            _ = try file.tensor(name).doubles()
        }
    } catch {
        _ = error.description
    }
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
