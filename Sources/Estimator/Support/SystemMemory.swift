#if canImport(Glibc)
import Glibc
#endif

/// The machine's memory as the kernel reports it.
enum SystemMemory {
    /// `MemAvailable` of /proc/meminfo in bytes: what can be allocated without swapping; nil
    /// where there is no such file.
    static func availableBytes() -> Int? {
        guard let file = fopen("/proc/meminfo", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("MemAvailable:") else { continue }
            let digits = text.dropFirst("MemAvailable:".count).filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }  // kB
        }
        return nil
    }
}
