import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// Every input goes to the `.npy` reader and the `.jsonl` reader whole, and to the indexed
/// dataset reader split in two: a 4-byte little-endian length `n`, then `n` bytes of `.idx`
/// (fewer when the input is shorter), the rest `.bin`. Every id is decoded, so a view that the
/// validation let past the end of a buffer is caught by the address sanitizer.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    do {
        _ = try NumpyArray(file: MappedFile(path: "fuzz.npy", contents: input)).tokenSource()
    } catch {
        _ = error.description
    }
    do {
        _ = try TokenJSONLines.documents(in: MappedFile(path: "fuzz.jsonl", contents: input))
        _ = try TokenJSONLines.documents(in: MappedFile(path: "fuzz.jsonl", contents: input), selecting: 1..<2)
    } catch {
        _ = error.description
    }
    guard input.count >= 4 else { return }
    let declared = Int(UInt32(littleEndian: input.loadUnaligned(as: UInt32.self)))
    let split = 4 + min(declared, input.count - 4)
    do {
        let dataset = try IndexedDataset(index: MappedFile(path: "fuzz.idx", contents: input[4..<split]),
                                         data: MappedFile(path: "fuzz.bin", contents: input[split...]))
        _ = try dataset.documents()
        if dataset.documentCount > 1 { _ = try dataset.documents(1..<dataset.documentCount) }
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
