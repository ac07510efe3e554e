import Testing
@testable import Estimator

@Suite struct RawTensorTests {
    @Test func convertsHalfPrecisionExactly() {
        #expect(halfToFloat(0x3C00) == 1)
        #expect(halfToFloat(0xC000) == -2)
        #expect(halfToFloat(0x7BFF) == 65504)
        #expect(halfToFloat(0x0001) == 0x1p-24)
        #expect(halfToFloat(0x7C00) == .infinity)
        #expect(halfToFloat(0x7E00).isNaN)
        #expect(halfToFloat(0x8000).sign == .minus)
    }

    @Test func convertsBFloat16AndIntegers() {
        // bf16 0x3FC0 = 1.5, 0xC020 = -2.5
        let bf = RawTensor(dtype: .bf16, shape: [2], data: [0xC0, 0x3F, 0x20, 0xC0])
        #expect(bf.floats() == [1.5, -2.5])
        #expect(bf.integers() == nil)
        let i32 = RawTensor(dtype: .i32, shape: [2], data: [0xFF, 0xFF, 0xFF, 0xFF, 7, 0, 0, 0])
        #expect(i32.integers() == [-1, 7])
        #expect(i32.doubles() == [-1, 7])
    }
}
