import Testing
@testable import Estimator

/// The bytes of a `.npy` file with the given header dict and data, padded as numpy pads it.
func npyBytes(_ header: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
    let lengthBytes = version == 1 ? 2 : 4
    var text = Array(header.utf8)
    let unpadded = 8 + lengthBytes + text.count + 1
    text += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0A]
    let length = version == 1
        ? withUnsafeBytes(of: UInt16(text.count).littleEndian, Array.init)
        : withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init)
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
}

func int32Bytes(_ values: [Int32], bigEndian: Bool = false) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: bigEndian ? $0.bigEndian : $0.littleEndian, Array.init) }
}

func int64Bytes(_ values: [Int64]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
}

@Suite struct NumpyArrayTests {
    func read(_ bytes: [UInt8]) throws(CheckpointError) -> TokenSource {
        try NumpyArray(file: MappedFile(path: "t.npy", contents: bytes)).tokenSource()
    }

    func code(_ bytes: [UInt8]) -> String? {
        do { _ = try read(bytes); return nil } catch { return error.code }
    }

    func error(_ bytes: [UInt8]) -> CheckpointError? {
        do { _ = try read(bytes); return nil } catch { return error }
    }

    @Test func readsRowsAndStreamsInEitherOrder() throws {
        let rows = try read(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data: int32Bytes([1, 2, 3, 4, 5, 6])))
        guard case .rows(let c) = rows else { Issue.record("not rows"); return }
        #expect(c.shape == [2, 3])
        #expect(c.scalars == [1, 2, 3, 4, 5, 6])

        // Fortran order stores [[1, 2, 3], [4, 5, 6]] column by column.
        let fortran = try read(npyBytes("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }", data: int32Bytes([1, 4, 2, 5, 3, 6], bigEndian: true)))
        guard case .rows(let f) = fortran else { Issue.record("not rows"); return }
        #expect(f.scalars == [1, 2, 3, 4, 5, 6])

        let stream = try read(npyBytes("{\"shape\": (4L,), \"fortran_order\": False, \"descr\": \"<i8\"}", data: int64Bytes([0, 7, 2_147_483_647, 9]), version: 2))
        guard case .stream(let s) = stream else { Issue.record("not a stream"); return }
        #expect(s == [0, 7, Int32.max, 9])

        let bytes = try read(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", data: [0, 200, 255]))
        guard case .stream(let u) = bytes else { Issue.record("not a stream"); return }
        #expect(u == [0, 200, 255])
    }

    @Test func truncatedFilesAreRefused() {
        let good = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data: int32Bytes([1, 2, 3, 4, 5, 6]))
        #expect(code(Array(good.prefix(5))) == "tokens.truncated")
        #expect(code(Array(good.prefix(9))) == "tokens.truncated")
        #expect(code(Array(good.prefix(40))) == "tokens.truncated")
        let cut = error(Array(good.dropLast(3)))
        #expect(cut?.code == "tokens.size_mismatch")
        #expect(cut?.detail.contains("needs 24 data bytes") == true)
        #expect(cut?.detail.contains("the file has 21") == true)
        #expect(code(good + [0]) == "tokens.size_mismatch")
    }

    @Test func badMagicAndVersionsAreRefused() {
        var bytes = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", data: int32Bytes([1]))
        bytes[1] = UInt8(ascii: "n")
        #expect(code(bytes) == "tokens.bad_magic")
        bytes = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", data: int32Bytes([1]))
        bytes[6] = 4
        #expect(code(bytes) == "tokens.bad_version")
        bytes[6] = 1
        bytes[7] = 1
        #expect(code(bytes) == "tokens.bad_version")
    }

    @Test func headersThatAreNotTheDictNumpyWritesAreRefused() {
        let data = int32Bytes([1, 2])
        for header in [
            "['descr', '<i4']",
            "{'descr': '<i4', 'fortran_order': False}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2.0,)}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)} x",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<i4\\x', 'fortran_order': False, 'shape': (2,)}",
            "{((((((((((1,),),),),),),),),),): 1}",
        ] {
            #expect(code(npyBytes(header, data: data)) == "tokens.bad_header", "\(header)")
        }
        let lying = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data: data)
        var huge = lying
        huge[8] = 0xFF
        huge[9] = 0xFF
        #expect(code(huge) == "tokens.bad_header")
        var past = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data: data, version: 2)
        past[9] = 0x10
        #expect(code(past) == "tokens.truncated")
    }

    @Test func nonIntegerDtypesAreRefused() {
        for descr in ["<f4", "<f8", "|b1", "<U8", "<i3", "|i4", "i4", "<c8", "O"] {
            let e = error(npyBytes("{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]))
            #expect(e?.code == "tokens.bad_dtype", "\(descr)")
            #expect(e?.detail.contains(descr) == true)
        }
    }

    @Test func shapesOtherThanRowsOrAStreamAreRefused() {
        #expect(code(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", data: int32Bytes([1]))) == "tokens.bad_shape")
        #expect(code(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2), }", data: int32Bytes([1, 2]))) == "tokens.bad_shape")
        #expect(code(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (0, 4), }", data: [])) == "tokens.empty")
        #expect(code(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }", data: [])) == "tokens.empty")
        // A shape whose element count overflows is refused before anything is allocated.
        #expect(code(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: [])) == "tokens.size_mismatch")
        #expect(code(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2305843009213693952,), }", data: [])) == "tokens.size_mismatch")
    }

    @Test func idsOutsideInt32AreRefusedNamingRowAndPosition() {
        let negative = error(npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data: int32Bytes([1, 2, 3, 4, -5, 6])))
        #expect(negative?.code == "tokens.bad_id")
        #expect(negative?.detail.contains("-5 at row 1, position 1") == true)

        let fortran = error(npyBytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", data: int32Bytes([1, 4, 2, -5, 3, 6])))
        #expect(fortran?.detail.contains("-5 at row 1, position 1") == true)

        let large = error(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data: int64Bytes([1, 2, 2_147_483_648])))
        #expect(large?.code == "tokens.bad_id")
        #expect(large?.detail.contains("2147483648 at position 2") == true)

        let unsigned = error(npyBytes("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0xFF, count: 8)))
        #expect(unsigned?.detail.contains("18446744073709551615 at position 0") == true)
    }
}
