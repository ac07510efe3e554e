import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// A run's `volume.toml`, as `RunManifest(path:)` hands it over: only UTF-8 text gets this far.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    guard let text = String(validating: input, as: UTF8.self) else { return }
    do {
        let manifest = try RunManifest(text: text, source: "volume.toml")
        _ = manifest.estimate.applied(to: EstimationPlan())
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
