import Testing
@testable import Estimator

@Suite struct UnpicklerTests {
    private func load(_ bytes: [UInt8], limits: Unpickler.Limits = Unpickler.Limits(), storage: Unpickler.StorageLoader? = nil) throws -> PickleValue {
        try bytes.withUnsafeBytes { raw in
            try Unpickler.load(raw, source: "test.pkl", limits: limits, storage: storage)
        }
    }

    private func failure(_ bytes: [UInt8], limits: Unpickler.Limits = Unpickler.Limits()) -> CheckpointError? {
        #expect(throws: CheckpointError.self) { try load(bytes, limits: limits) }
    }

    private func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// `pickle.dumps({'a': [1, -2, 3.5, None, True, 'é', b'xy', (1,2,3), 2**40, -2**63, 300, 70000]}, protocol=4)`
    private var protocol4: [UInt8] {
        hex("8004954a000000000000007d948c0161945d94284b014afeffffff47400c0000000000004e888c02c3a99443027879944b014b024b0387948a060000000000018a0800000000000000804d2c014a7011010065732e")
    }

    @Test func readsPythonProtocol4Pickle() throws {
        let value = try load(protocol4)
        let items = try #require(value["a"]?.items)
        #expect(items.count == 12)
        #expect(items[0].intValue == 1)
        #expect(items[1].intValue == -2)
        guard case .float(3.5) = items[2], case .none = items[3], case .bool(true) = items[4],
              case .string("é") = items[5], case .bytes([0x78, 0x79]) = items[6] else {
            Issue.record("unexpected scalars \(items[2...6].map(\.kind))")
            return
        }
        guard case .tuple(let t) = items[7] else { Issue.record("not a tuple"); return }
        #expect(t.map(\.intValue) == [1, 2, 3])
        #expect(items[8].intValue == 1 << 40)
        #expect(items[9].intValue == Int64.min)
        #expect(items[10].intValue == 300)
        #expect(items[11].intValue == 70000)
    }

    @Test func everyTruncationIsAnError() {
        let full = protocol4
        for length in 0..<full.count {
            let error = failure(Array(full[0..<length]))
            #expect(error?.code.hasPrefix("pickle.") == true, "length \(length)")
        }
    }

    @Test func refusesForbiddenGlobal() {
        // The classic exploit: os.system('ls').
        var p = PickleWriter()
        p.global("os", "system")
        p.string("ls")
        p.op(0x85)  // TUPLE1
        p.reduce()
        p.stop()
        let error = failure(p.bytes)
        #expect(error?.code == "pickle.forbidden_global")
        #expect(error?.description == "test.pkl: pickle references forbidden global 'os.system' at byte 2")

        var stacked = PickleWriter()
        stacked.string("builtins")
        stacked.string("eval")
        stacked.op(0x93)  // STACK_GLOBAL
        stacked.stop()
        #expect(failure(stacked.bytes)?.detail == "pickle references forbidden global 'builtins.eval' at byte 24")
    }

    @Test func refusesProtocol2Bytes() {
        // Protocol 2 pickles bytes through _codecs.encode, which is not on the allowlist.
        let bytes = hex("80027d710058010000006171015d7102284b014afeffffff47400c0000000000004e885802000000c3a97103635f636f646563730a656e636f64650a710458020000007879710558060000006c6174696e3171068671075271084b014b024b038771098a060000000000018a0800000000000000804d2c014a7011010065732e")
        #expect(failure(bytes)?.detail == "pickle references forbidden global '_codecs.encode' at byte 44")
    }

    @Test func refusesUnknownAndDisallowedOpcodes() {
        let unknown = failure([0x80, 0x02, 0xFF, 0x2E])
        #expect(unknown?.code == "pickle.forbidden_opcode")
        #expect(unknown?.detail == "pickle opcode unknown opcode 0xFF at byte 2 is not allowed")
        let newObjEx = failure([0x80, 0x02, 0x4E, 0x29, 0x7D, 0x92, 0x2E])
        #expect(newObjEx?.code == "pickle.forbidden_opcode")
        #expect(newObjEx?.detail == "pickle opcode NEWOBJ_EX (0x92) at byte 5 is not allowed")
        // NEWOBJ creates only an argparse.Namespace (a dict of its attributes).
        let newObj = failure([0x80, 0x02, 0x4E, 0x29, 0x81, 0x2E])
        #expect(newObj?.code == "pickle.bad_reduce")
        #expect(newObj?.detail == "NEWOBJ at byte 4 creates None with 0 arguments; only argparse.Namespace() is supported")
        // INST would call a class by name.
        #expect(failure(Array("\u{80}\u{02}(ios\nsystem\n.".utf8))?.code == "pickle.forbidden_opcode")
        #expect(failure([0x80, 0x01, 0x4E, 0x2E])?.code == "pickle.unsupported_protocol")
    }

    @Test func refusesDeepNesting() {
        // 10,000 nested lists: EMPTY_LIST × n, then APPEND × (n − 1).
        let n = 10_000
        let lists = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
        let error = failure(lists)
        #expect(error?.code == "pickle.too_deep")
        // Far more nested one-tuples than any thread stack could release recursively.
        let tuples = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 300_000) + [0x2E]
        #expect(failure(tuples)?.code == "pickle.too_deep")
        #expect(failure([0x80, 0x02] + [UInt8](repeating: 0x28, count: 5000) + [0x2E])?.code == "pickle.too_deep")
    }

    @Test func refusesSelfContainingList() {
        // l = []; l.append(l)
        let error = failure([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])
        #expect(error?.code == "pickle.too_deep")
    }

    @Test func refusesExponentialSharing() {
        // l0 = []; l_{i+1} = [l_i, l_i]: 2^60 values once shared references are expanded.
        var bytes: [UInt8] = [0x80, 0x02, 0x5D]
        for _ in 0..<60 { bytes += [0x32, 0x86] }  // DUP, TUPLE2
        bytes.append(0x2E)
        var limits = Unpickler.Limits()
        limits.maxValues = 100_000
        let error = failure(bytes, limits: limits)
        #expect(error?.code == "pickle.too_large")
        #expect(error?.detail == "pickle result has more than 100000 values")
    }

    @Test func enforcesMemoAndStackLimits() {
        var limits = Unpickler.Limits()
        limits.maxMemo = 3
        limits.maxStack = 4
        // MEMOIZE four times.
        #expect(failure([0x80, 0x04, 0x4E, 0x94, 0x94, 0x94, 0x94, 0x2E], limits: limits)?.code == "pickle.too_large")
        #expect(failure([0x80, 0x02] + [UInt8](repeating: 0x4E, count: 5) + [0x2E], limits: limits)?.code == "pickle.too_large")
    }

    @Test func reportsMalformedStreams() {
        #expect(failure([0x80, 0x02, 0x61, 0x2E])?.detail == "APPEND at byte 2 pops from an empty stack")
        #expect(failure([0x80, 0x02, 0x68, 0x07, 0x2E])?.detail == "BINGET at byte 2 reads memo slot 7, which was never written")
        #expect(failure([0x80, 0x02, 0x4E])?.detail == "pickle ends at byte 3 without a STOP opcode")
        #expect(failure([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E])?.code == "pickle.truncated")
        // LONG1 of nine bytes that do not fit Int64.
        #expect(failure([0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 0, count: 8) + [0x01, 0x2E])?.code == "pickle.integer_overflow")
        // A list used as a dict key.
        #expect(failure([0x80, 0x02, 0x7D, 0x5D, 0x4E, 0x73, 0x2E])?.code == "pickle.type_error")
        // A bare class as the result.
        var bare = PickleWriter()
        bare.global("collections", "OrderedDict")
        bare.stop()
        #expect(failure(bare.bytes)?.code == "pickle.unsupported_value")
    }

    @Test func laterDictKeysReplaceEarlierOnes() throws {
        // {1: 'a', True: 'b', 'k': None} → {1: 'b', 'k': None}, as Python builds it.
        var p = PickleWriter()
        p.op(0x7D)
        p.mark()
        p.int(1); p.string("a")
        p.op(0x88); p.string("b")
        p.string("k"); p.op(0x4E)
        p.op(0x75)  // SETITEMS
        p.stop()
        let pairs = try #require(try load(p.bytes).dictEntries)
        #expect(pairs.count == 2)
        #expect(pairs[0].key.intValue == 1)
        #expect(pairs[0].value.stringValue == "b")
        #expect(pairs[1].key.stringValue == "k")
    }

    private func storageLoader(_ values: [Float]) -> Unpickler.StorageLoader {
        let data = littleEndianBytes(values)
        let owner = RawTensor(dtype: .u8, shape: [data.count], data: data)
        return { (key, dtype, count) throws(CheckpointError) in
            guard key == "0", dtype == .f32, count == values.count else {
                throw CheckpointError("test.storage", file: nil, "unexpected \(key) \(dtype) \(count)")
            }
            return Unpickler.Storage(bytes: owner.bytes, owner: nil)
        }
    }

    @Test func rebuildsContiguousAndStridedTensors() throws {
        let values: [Float] = [0, 1, 2, 3, 4, 5, 6, 7]
        let storage = storageLoader(values)
        var p = PickleWriter()
        p.mark()
        // A contiguous [2, 3] view at offset 1, and its transpose [3, 2] (stride (1, 3)).
        p.tensor(storage: "FloatStorage", key: "0", numel: 8, offset: 1, size: [2, 3], stride: [3, 1])
        p.tensor(storage: "FloatStorage", key: "0", numel: 8, offset: 1, size: [3, 2], stride: [1, 3])
        p.tensor(storage: "FloatStorage", key: "0", numel: 8, offset: 7, size: [], stride: [])
        p.op(0x6C)  // LIST
        p.stop()
        let items = try #require(try load(p.bytes, storage: storage).items)
        let a = try #require(items[0].tensorValue)
        #expect(a.shape == [2, 3])
        #expect(a.floats() == [1, 2, 3, 4, 5, 6])
        let t = try #require(items[1].tensorValue)
        #expect(t.shape == [3, 2])
        #expect(t.floats() == [1, 4, 2, 5, 3, 6])
        let scalar = try #require(items[2].tensorValue)
        #expect(scalar.shape == [])
        #expect(scalar.floats() == [7])
    }

    @Test func refusesViewsOutsideTheStorage() throws {
        let storage = storageLoader([0, 1, 2, 3])
        var p = PickleWriter()
        p.tensor(storage: "FloatStorage", key: "0", numel: 4, offset: 2, size: [3], stride: [1])
        p.stop()
        let error = #expect(throws: CheckpointError.self) { try load(p.bytes, storage: storage) }
        #expect(error?.code == "pickle.bad_tensor")
        #expect(error?.detail.contains("reaches element 4 of storage '0', which has 4") == true)

        var expand = PickleWriter()
        expand.tensor(storage: "FloatStorage", key: "0", numel: 4, offset: 0, size: [1000], stride: [0])
        expand.stop()
        #expect(#expect(throws: CheckpointError.self) { try load(expand.bytes, storage: storage) }?.code == "pickle.too_large")

        var noArchive = PickleWriter()
        noArchive.tensor(storage: "FloatStorage", key: "0", numel: 4, offset: 0, size: [4], stride: [1])
        noArchive.stop()
        #expect(failure(noArchive.bytes)?.code == "pickle.unexpected_storage")
    }
}
