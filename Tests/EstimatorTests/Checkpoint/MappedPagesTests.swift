import Foundation
import Testing
@testable import Estimator

/// Loading keeps θ0 (float32) and releases the checkpoint's mapped pages once they are copied.
@Suite struct MappedPagesTests {
    /// Resident bytes of the mapping that contains `address`, from /proc/self/smaps.
    private static func residentBytes(ofMappingAt address: UnsafeRawPointer) throws -> Int {
        // /proc files report size 0: read them to the end.
        let smaps = String(decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data(), as: UTF8.self)
        let target = UInt(bitPattern: address)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
            } else if inside, fields.first == "Rss:", fields.count >= 2, let kB = Int(fields[1]) {
                return kB * 1024
            }
        }
        Issue.record("no mapping holds \(address)")
        return -1
    }

    @Test func widenedFP16TensorReleasesItsPages() throws {
        let count = 4 << 20  // 8 MiB of float16
        var data = [UInt8](repeating: 0, count: 2 * count)
        for i in 0..<count {
            let half = Float16(Float(i % 1000) / 1000 - 0.5).bitPattern
            data[2 * i] = UInt8(half & 0xFF)
            data[2 * i + 1] = UInt8(half >> 8)
        }
        let directory = try TemporaryDirectory()
        let path = try directory.write("w.safetensors",
                                       safetensorsBytes(header: #"{"w":{"dtype":"F16","shape":[\#(count)],"data_offsets":[0,\#(2 * count)]}}"#, data: data))
        let file = try SafeTensorsFile(path: path)
        let tensor = try file.tensor("w")
        var widened = [Float](repeating: 0, count: count)
        widened.withUnsafeMutableBufferPointer { tensor.widen(into: $0.baseAddress!) }
        #expect(widened[1001] == Float(Float16(0.001 - 0.5)))
        #expect(widened[count - 1] == Float(Float16(Float((count - 1) % 1000) / 1000 - 0.5)))
        let base = tensor.bytes.baseAddress!
        #expect(try Self.residentBytes(ofMappingAt: base) >= 2 * count - (64 << 10))
        tensor.releasePages()
        // Only the partial pages at either end may stay (and the header's).
        #expect(try Self.residentBytes(ofMappingAt: base) <= 3 * 4096)
        // Released pages read again from the file.
        var again = [Float](repeating: 0, count: count)
        again.withUnsafeMutableBufferPointer { tensor.widen(into: $0.baseAddress!) }
        #expect(again == widened)
    }

    @Test func adamReadsOneMomentIntoOneVector() throws {
        let layout = FixtureLayouts.digits
        let optimizer = try OptimizerState(path: Fixtures.path("digits/checkpoint-100/optimizer.pt"))
        let both = try optimizer.moments(for: layout)
        #expect(try optimizer.moment(.expAvgSq, for: layout) == both.expAvgSq)
        #expect(try optimizer.moment(.expAvg, for: layout) == both.expAvg)
        // In place, the preconditioner equals the one built from both moments.
        let p = try Preconditioner.moment(.adam, try optimizer.moment(.expAvgSq, for: layout))
        let q = try Preconditioner.moments(.adam, both)
        #expect(p.diagonal == q.diagonal)
    }
}
