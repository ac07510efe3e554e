import Testing
@testable import Estimator

@Suite struct PhiloxTests {
    // Random123's tests/kat_vectors, the three "philox4x32 10" lines: counter, key → output.
    @Test func matchesPublishedKnownAnswers() {
        let zeros = Philox(key: 0).block(SIMD4(0, 0, 0, 0))
        #expect(zeros == SIMD4(0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8))

        let ones = Philox(key: .max).block(SIMD4(repeating: 0xFFFF_FFFF))
        #expect(ones == SIMD4(0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD))

        let pi = Philox(key: 0x299F_31D0_A409_3822)
            .block(SIMD4(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344))
        #expect(pi == SIMD4(0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1))
    }

    @Test func keyWordsAreLowThenHigh() {
        let philox = Philox(key: 0x299F_31D0_A409_3822)
        #expect(philox.key0 == 0xA409_3822)
        #expect(philox.key1 == 0x299F_31D0)
    }

    @Test func streamAndPositionFillHighAndLowCounterWords() {
        let philox = Philox(key: 42)
        let direct = philox.block(SIMD4(0x89AB_CDEF, 0x0123_4567, 0x7654_3210, 0x0FED_CBA9))
        #expect(philox.block(stream: 0x0FED_CBA9_7654_3210, position: 0x0123_4567_89AB_CDEF) == direct)
    }

    @Test func openUniformNeverReachesZeroOrOne() {
        #expect(Philox.openUniform(0) == 0x1p-33)
        #expect(Philox.openUniform(.max) == 1 - 0x1p-33)
        #expect(Philox.openUniform(1 << 31) == 0.5 + 0x1p-33)
    }

    @Test func bootstrapStreamIsOutsideTheDirections() {
        #expect(Philox.bootstrapStream >= Philox.auxiliaryStreams)
        #expect(Philox.auxiliaryStreams > UInt64(Int.max))
    }
}
