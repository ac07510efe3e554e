import CFuzzer
import Config

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's `volumed.toml`, as `Config.load(path:)` hands it over: only UTF-8 text gets
/// this far.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    guard let text = String(validating: input, as: UTF8.self) else { return }
    do {
        _ = try Config(toml: text, file: "volumed.toml")
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
