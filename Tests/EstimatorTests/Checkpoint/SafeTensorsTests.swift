import Base
import Testing
@testable import Estimator

@Suite struct SafeTensorsTests {
    @Test func readsDigitsCheckpointInFileOrder() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-100/model.safetensors"))
        #expect(file.tensorNames == ["0.bias", "0.weight", "2.bias", "2.weight"])
        #expect(file.metadata.isEmpty)
        #expect(file.tensorInfo("0.weight")?.dtype == .f32)
        #expect(file.tensorInfo("0.weight")?.shape == [64, 64])
        #expect(file.tensorInfo("nope") == nil)

        let w = try file.tensor("0.weight")
        #expect(w.shape == [64, 64])
        let values = w.floats()
        #expect(values[0] == 0.06440789997577667)
        #expect(values[1] == 0.19741445779800415)
        #expect(values[2] == 0.20449553430080414)
        #expect(values[64 * 64 - 1] == -0.030996157)
        let bias = try file.tensor("2.bias").floats()
        #expect(bias.count == 10)
        #expect(bias[0] == 0.1623157262802124)
        #expect(bias[9] == 0.13852056860923767)
    }

    @Test func readsACopyInMemoryLikeTheFile() throws {
        let path = Fixtures.path("digits/checkpoint-100/model.safetensors")
        let mapped = try MappedFile(path: path)
        let copy = withExtendedLifetime(mapped) { MappedFile(path: "copy.safetensors", contents: mapped.bytes) }
        let memory = try SafeTensorsFile(file: copy)
        let file = try SafeTensorsFile(path: path)
        #expect(memory.path == "copy.safetensors")
        #expect(memory.tensorNames == file.tensorNames)
        for name in file.tensorNames {
            #expect(try memory.tensor(name).floats() == file.tensor(name).floats(), "\(name)")
        }
        let truncated = MappedFile(path: "cut.safetensors", contents: copy.bytes.prefix(100))
        let error = #expect(throws: CheckpointError.self) { try SafeTensorsFile(file: truncated) }
        #expect(error?.code == "safetensors.header_length")
        #expect(error?.file == "cut.safetensors")
    }

    @Test func readsMetadataAndIntegerTensors() throws {
        let neox = try SafeTensorsFile(path: Fixtures.path("neox-tiny/checkpoint-30/model.safetensors"))
        #expect(neox.metadata == ["format": "pt"])
        #expect(neox.tensorNames.count == 28)
        #expect(neox.tensorNames.first == "embed_out.weight")
        #expect(try neox.tensor("embed_out.weight").floats().prefix(3) == [0.037052471190690994, 0.03100663796067238, 0.006873526610434055])

        let eval = try SafeTensorsFile(path: Fixtures.path("digits/digits_val.safetensors"))
        #expect(eval.tensorNames == ["labels", "inputs"])
        let labels = try eval.tensor("labels")
        #expect(labels.dtype == .i64)
        #expect(labels.integers()?.prefix(10) == [4, 7, 9, 8, 0, 6, 1, 9, 0, 8])
        #expect(try eval.tensor("inputs").floats()[3..<5] == [0.125, 0.9375])
    }

    @Test func viewsAreZeroCopyIntoTheMap() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-100/model.safetensors"))
        let a = try file.tensor("0.bias")
        let b = try file.tensor("0.weight")
        // 0.bias is [0, 256) and 0.weight [256, 16640) of the same data section.
        #expect(b.bytes.baseAddress == a.bytes.baseAddress.map { $0 + 256 })
    }

    @Test func missingTensorNamesTensorAndFile() throws {
        let path = Fixtures.path("digits/checkpoint-100/model.safetensors")
        let file = try SafeTensorsFile(path: path)
        let error = #expect(throws: CheckpointError.self) { try file.tensor("1.weight") }
        #expect(error?.code == "checkpoint.missing_tensor")
        #expect(error?.description == "\(path): no tensor named '1.weight'")
    }

    @Test func readsEveryDType() throws {
        let dir = try TemporaryDirectory()
        let header = """
            {"__metadata__":{"k":"v"},\
            "f64":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},\
            "f16":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},\
            "bf16":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]},\
            "i16":{"dtype":"I16","shape":[1],"data_offsets":[14,16]},\
            "i32":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},\
            "i8":{"dtype":"I8","shape":[1],"data_offsets":[20,21]},\
            "u8":{"dtype":"U8","shape":[1],"data_offsets":[21,22]},\
            "b":{"dtype":"BOOL","shape":[1],"data_offsets":[22,23]},\
            "empty":{"dtype":"F32","shape":[0,3],"data_offsets":[23,23]},\
            "scalar":{"dtype":"I64","shape":[],"data_offsets":[23,31]}}
            """
        var data: [UInt8] = withUnsafeBytes(of: (-2.5).bitPattern.littleEndian, Array.init)
        data += [0x00, 0x3C, 0x00, 0xC0]            // f16 1, -2
        data += [0xC0, 0x3F]                        // bf16 1.5
        data += [0xFE, 0xFF]                        // i16 -2
        data += [0x07, 0, 0, 0]                     // i32 7
        data += [0xFF, 200, 1]                      // i8 -1, u8 200, bool true
        data += withUnsafeBytes(of: Int64(-9).littleEndian, Array.init)
        let path = try dir.write("all.safetensors", safetensorsBytes(header: header, data: data))
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["k": "v"])
        #expect(file.tensorNames == ["f64", "f16", "bf16", "i16", "i32", "i8", "u8", "b", "empty", "scalar"])
        #expect(try file.tensor("f64").doubles() == [-2.5])
        #expect(try file.tensor("f16").floats() == [1, -2])
        #expect(try file.tensor("bf16").floats() == [1.5])
        #expect(try file.tensor("i16").integers() == [-2])
        #expect(try file.tensor("i32").integers() == [7])
        #expect(try file.tensor("i8").integers() == [-1])
        #expect(try file.tensor("u8").integers() == [200])
        #expect(try file.tensor("b").integers() == [1])
        #expect(try file.tensor("empty").count == 0)
        #expect(try file.tensor("empty").shape == [0, 3])
        #expect(try file.tensor("scalar").shape == [])
        #expect(try file.tensor("scalar").integers() == [-9])
    }

    @Test func everyTruncationOfARealFileIsAnError() throws {
        let original = try readBytes(Fixtures.path("neox-tiny/eval_tokens.safetensors"))
        let dir = try TemporaryDirectory()
        for length in 0..<original.count {
            let path = try dir.write("cut.safetensors", Array(original[0..<length]))
            let error = #expect(throws: CheckpointError.self) { try SafeTensorsFile(path: path) }
            #expect(error?.code.hasPrefix("safetensors.") == true, "length \(length)")
        }
    }

    @Test func rejectsHeaderLengthBeyondTheFile() throws {
        let dir = try TemporaryDirectory()
        var bytes = safetensorsBytes(header: "{}", data: [])
        bytes[0] = 50
        let path = try dir.write("long.safetensors", bytes)
        let error = #expect(throws: CheckpointError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.code == "safetensors.header_length")
        #expect(error?.detail == "header length 50 exceeds the 2 bytes after the length field (file is 10 bytes; truncated?)")
    }

    @Test func rejectsHugeHeaderLength() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("huge.safetensors", [0, 0, 0, 0, 0, 0, 0, 0x80] + Array("{}".utf8))
        let error = #expect(throws: CheckpointError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.code == "safetensors.header_too_large")
    }

    private func rejection(_ header: String, data: [UInt8] = [UInt8](repeating: 0, count: 16)) throws -> CheckpointError? {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.safetensors", safetensorsBytes(header: header, data: data))
        return #expect(throws: CheckpointError.self) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsOverlappingTensors() throws {
        let error = try rejection("""
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
            """)
        #expect(error?.code == "safetensors.overlap")
        #expect(error?.detail == "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]")
    }

    @Test func rejectsSizeMismatch() throws {
        let error = try rejection(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)
        #expect(error?.code == "safetensors.size_mismatch")
        #expect(error?.detail == "tensor 'a': data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12")
    }

    @Test func rejectsOffsetsPastTheData() throws {
        let error = try rejection(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#)
        #expect(error?.code == "safetensors.bad_offsets")
        #expect(error?.detail.hasPrefix("tensor 'a': data_offsets [8, 24] exceed the 16-byte data section") == true)
        #expect(try rejection(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#)?.code == "safetensors.bad_offsets")
        #expect(try rejection(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[-1,0]}}"#)?.code == "safetensors.bad_offsets")
        #expect(try rejection(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#)?.code == "safetensors.bad_offsets")
    }

    @Test func rejectsUnknownDType() throws {
        let error = try rejection(#"{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#)
        #expect(error?.code == "safetensors.bad_dtype")
        #expect(error?.detail == "tensor 'a': unsupported dtype 'F8_E4M3'")
    }

    @Test func rejectsBadShapes() throws {
        #expect(try rejection(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#)?.code == "safetensors.bad_shape")
        #expect(try rejection(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#)?.code == "safetensors.bad_shape")
        let overflow = try rejection(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#)
        #expect(overflow?.code == "safetensors.bad_shape")
        #expect(try rejection(#"{"a":{"dtype":"F32","data_offsets":[0,0]}}"#)?.code == "safetensors.bad_shape")
    }

    @Test func rejectsGarbageHeaders() throws {
        let garbage = try rejection("{\"a\": [1, 2")
        #expect(garbage?.code == "safetensors.header_json")
        #expect(garbage?.detail == "header is not valid JSON: unexpected end of input at byte 19")
        #expect(try rejection("[1, 2]")?.code == "safetensors.header_json")
        #expect(try rejection(#"{"a": 1}"#)?.code == "safetensors.bad_entry")
        #expect(try rejection(#"{"a": {"shape": []}}"#)?.code == "safetensors.bad_entry")
        #expect(try rejection(#"{"__metadata__": {"k": 1}}"#)?.code == "safetensors.bad_metadata")
        #expect(try rejection(#"{"__metadata__": []}"#)?.code == "safetensors.bad_metadata")
        let duplicate = try rejection(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#)
        #expect(duplicate?.code == "safetensors.header_json")
    }

    @Test func missingFileIsAFileError() throws {
        let error = #expect(throws: CheckpointError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
        #expect(error?.code == "file.not_found")
        #expect(error?.file == "/nonexistent/model.safetensors")
        #expect(error?.description == "/nonexistent/model.safetensors: cannot open: No such file or directory")
    }
}
