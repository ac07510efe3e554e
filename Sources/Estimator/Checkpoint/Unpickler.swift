/// A restricted pickle virtual machine for what `torch.save` writes (protocols 2–5).
///
/// Only an allowlist of opcodes and globals is accepted (`collections.OrderedDict`,
/// `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor` / `_rebuild_parameter`, the typed
/// `torch.*Storage` classes, and the hyper-parameter values Lightning checkpoints hold:
/// `pathlib.PosixPath` (read as its path string), `argparse.Namespace` (as a dict of its
/// attributes), `set` (as a list)); those globals are interpreted here, never looked up or called.
/// Every other global or opcode is an error naming it and its byte offset. Hard limits on
/// the memo, stack, marks, nesting and output size turn hostile input into errors; a pickle
/// has no loops, so the work done is bounded by its length.
public enum Unpickler {
    public struct Limits: Sendable {
        public var maxMemo = 1 << 22
        public var maxStack = 1 << 22
        public var maxMarks = 1 << 12
        /// Items in one list, tuple or dict.
        public var maxContainerSize = 1 << 22
        /// Containers nested deeper than this (or a container that contains itself) are refused.
        public var maxDepth = 100
        /// Values in the result, counting shared ones each time they are reached.
        public var maxValues = 1 << 22
        /// Bytes copied to make non-contiguous tensors contiguous, over the whole pickle.
        public var maxGatheredBytes = 1 << 30
        public init() {}
    }

    /// The bytes of one tensor storage that a persistent id names, kept alive by `owner`.
    public struct Storage {
        public let bytes: UnsafeRawBufferPointer
        public let owner: AnyObject?
        public init(bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
            self.bytes = bytes
            self.owner = owner
        }
    }

    /// Resolves torch's persistent id `('storage', <type>, key, location, numel)`: returns exactly
    /// `count` elements of `dtype` stored under `key`.
    public typealias StorageLoader = (_ key: String, _ dtype: DType, _ count: Int) throws(CheckpointError) -> Storage

    /// Unpickles `bytes`; `source` names the file in errors.
    public static func load(
        _ bytes: UnsafeRawBufferPointer, source: String, limits: Limits = Limits(), storage: StorageLoader? = nil
    ) throws(CheckpointError) -> PickleValue {
        let machine = Machine(bytes: bytes, source: source, limits: limits, loader: storage)
        // Break every container link before the graph is released, so that deep or cyclic
        // structures are freed without deep recursion or leaks.
        defer { machine.releaseNodes() }
        let result = try machine.run()
        var budget = limits.maxValues
        return try machine.convert(result, depth: 0, budget: &budget)
    }
}

// MARK: - Values inside the machine

/// A container on the machine's stack or memo. Reference semantics, as in Python: a dict put
/// in the memo and filled later is the same dict when it is fetched again.
private final class Node {
    enum Kind { case list, tuple, dict }
    let kind: Kind
    /// An `argparse.Namespace`, kept as the dict of its attributes: BUILD sets its items.
    var isNamespace = false
    var items: [Item] = []
    var keys: [Item] = []
    var values: [Item] = []
    var keyIndex: [DictKey: Int] = [:]

    init(_ kind: Kind, items: [Item] = []) {
        self.kind = kind
        self.items = items
    }
}

private enum Global: Equatable {
    case orderedDict
    case posixPath
    case namespace
    case set
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case storageType(DType, String)
}

private struct StorageRef {
    let key: String
    let dtype: DType
    let count: Int
    let storage: Unpickler.Storage
}

private enum Item {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case node(Node)
    case tensor(RawTensor)
    case global(Global)
    case storage(StorageRef)
}

/// Dict key identity as Python's hash/equality sees it for the scalar keys we accept
/// (`True == 1 == 1.0`).
private enum DictKey: Hashable {
    case none
    case int(Int64)
    case float(UInt64)
    case string(String)
    case bytes([UInt8])
}

/// The allowlist: the opcodes `torch.save` emits (protocols 2–5). Everything else is refused.
private enum Opcode: UInt8 {
    case proto = 0x80, frame = 0x95, stop = 0x2E
    case mark = 0x28, pop = 0x30, popMark = 0x31, dup = 0x32
    case emptyDict = 0x7D, emptyList = 0x5D, emptyTuple = 0x29
    case tuple = 0x74, tuple1 = 0x85, tuple2 = 0x86, tuple3 = 0x87, list = 0x6C, dict = 0x64
    case append = 0x61, appends = 0x65, setItem = 0x73, setItems = 0x75
    case binPut = 0x71, longBinPut = 0x72, memoize = 0x94, binGet = 0x68, longBinGet = 0x6A
    case binInt = 0x4A, binInt1 = 0x4B, binInt2 = 0x4D, long1 = 0x8A, binFloat = 0x47
    case none = 0x4E, newTrue = 0x88, newFalse = 0x89
    case binUnicode = 0x58, shortBinUnicode = 0x8C, binUnicode8 = 0x8D
    case binBytes = 0x42, shortBinBytes = 0x43, binBytes8 = 0x8E
    case global = 0x63, stackGlobal = 0x93, reduce = 0x52, build = 0x62, binPersID = 0x51
    case newObj = 0x81
}

/// `pickletools` names of every pickle opcode, for error messages.
private let opcodeNames: [UInt8: String] = [
    0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
    0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
    0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
    0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
    0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
    0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
    0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
    0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
    0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4",
    0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8",
    0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
    0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
    0x98: "READONLY_BUFFER",
]

// MARK: - The machine

private final class Machine {
    let bytes: UnsafeRawBufferPointer
    let source: String
    let limits: Unpickler.Limits
    let loader: Unpickler.StorageLoader?

    var pos = 0
    /// Offset and byte of the opcode being executed, for error messages.
    var opStart = 0
    var opByte: UInt8 = 0
    var stack: [Item] = []
    var marks: [Int] = []
    var memo: [Int: Item] = [:]
    var nodes: [Node] = []
    var storages: [String: StorageRef] = [:]
    var gatheredBytes = 0

    init(bytes: UnsafeRawBufferPointer, source: String, limits: Unpickler.Limits, loader: Unpickler.StorageLoader?) {
        self.bytes = bytes
        self.source = source
        self.limits = limits
        self.loader = loader
    }

    func releaseNodes() {
        for node in nodes {
            node.items = []
            node.keys = []
            node.values = []
            node.keyIndex = [:]
        }
        nodes = []
        stack = []
        memo = [:]
    }

    func fail(_ code: String, _ detail: String) -> CheckpointError {
        CheckpointError("pickle.\(code)", file: source, detail)
    }

    /// The opcode being executed as `pickletools` names it.
    var opName: String {
        if let name = opcodeNames[opByte] { return name }
        return "unknown opcode 0x" + (opByte < 16 ? "0" : "") + String(opByte, radix: 16, uppercase: true)
    }

    /// "<OPCODE> at byte <n>", the usual place an error points at.
    var here: String { "\(opName) at byte \(opStart)" }

    // MARK: Reading operands

    func take(_ n: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw fail("truncated", "pickle ends inside \(here) (needs \(n) more bytes, \(bytes.count - pos) left)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    func u8() throws(CheckpointError) -> UInt8 { try take(1)[0] }
    func u16() throws(CheckpointError) -> UInt16 { UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self)) }
    func u32() throws(CheckpointError) -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    func u64() throws(CheckpointError) -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }

    /// A length operand, which can never exceed what is left of the pickle.
    func length(_ n: UInt64) throws(CheckpointError) -> Int {
        guard n <= UInt64(bytes.count - pos) else {
            throw fail("truncated", "\(here) declares \(n) bytes but only \(bytes.count - pos) are left")
        }
        return Int(n)
    }

    func text(_ n: Int) throws(CheckpointError) -> String {
        guard let s = String(validating: try take(n), as: UTF8.self) else {
            throw fail("bad_string", "\(here) holds a string that is not valid UTF-8")
        }
        return s
    }

    /// A newline-terminated GLOBAL operand.
    func line() throws(CheckpointError) -> String {
        let maxLength = 1024
        var end = pos
        while end < bytes.count, bytes[end] != 0x0A {
            end += 1
            if end - pos > maxLength { throw fail("bad_global", "\(here) has an operand longer than \(maxLength) bytes") }
        }
        guard end < bytes.count else { throw fail("truncated", "pickle ends inside \(here)") }
        let s = try text(end - pos)
        pos += 1
        return s
    }

    // MARK: Stack

    var fence: Int { marks.last ?? 0 }

    func push(_ item: Item) throws(CheckpointError) {
        guard stack.count < limits.maxStack else {
            throw fail("too_large", "pickle stack grows past \(limits.maxStack) entries at \(here)")
        }
        stack.append(item)
    }

    func pop() throws(CheckpointError) -> Item {
        guard stack.count > fence else { throw fail("stack_underflow", "\(here) pops from an empty stack") }
        return stack.removeLast()
    }

    func top() throws(CheckpointError) -> Item {
        guard stack.count > fence, let item = stack.last else {
            throw fail("stack_underflow", "\(here) reads from an empty stack")
        }
        return item
    }

    func popToMark() throws(CheckpointError) -> [Item] {
        guard let mark = marks.popLast() else { throw fail("stack_underflow", "\(here) has no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    func newNode(_ kind: Node.Kind, _ items: [Item] = []) throws(CheckpointError) -> Item {
        guard items.count <= limits.maxContainerSize else {
            throw fail("too_large", "\(here) builds a container of more than \(limits.maxContainerSize) items")
        }
        let node = Node(kind, items: items)
        nodes.append(node)
        return .node(node)
    }

    func container(_ item: Item, _ kind: Node.Kind) throws(CheckpointError) -> Node {
        guard case .node(let node) = item, node.kind == kind else {
            throw fail("type_error", "\(here) expects a \(kind) but finds \(describe(item))")
        }
        return node
    }

    func memoPut(_ index: Int) throws(CheckpointError) {
        guard memo.count < limits.maxMemo || memo[index] != nil else {
            throw fail("too_large", "pickle memo grows past \(limits.maxMemo) entries at \(here)")
        }
        memo[index] = try top()
    }

    func memoGet(_ index: Int) throws(CheckpointError) {
        guard let item = memo[index] else {
            throw fail("bad_memo", "\(here) reads memo slot \(index), which was never written")
        }
        try push(item)
    }

    // MARK: Execution

    func run() throws(CheckpointError) -> Item {
        while true {
            opStart = pos
            guard pos < bytes.count else {
                throw fail("truncated", "pickle ends at byte \(pos) without a STOP opcode")
            }
            opByte = bytes[pos]
            pos += 1
            guard let op = Opcode(rawValue: opByte) else {
                let hex = "0x" + (opByte < 16 ? "0" : "") + String(opByte, radix: 16, uppercase: true)
                let name = opcodeNames[opByte].map { "\($0) (\(hex))" } ?? "unknown opcode \(hex)"
                throw fail("forbidden_opcode", "pickle opcode \(name) at byte \(opStart) is not allowed")
            }
            switch op {
            case .proto:
                let version = try u8()
                guard (2...5).contains(version) else {
                    throw fail("unsupported_protocol", "pickle protocol \(version) at byte \(opStart) is not supported (2 to 5 are)")
                }
            case .frame:
                _ = try length(try u64())
            case .stop:
                return try pop()
            case .mark:
                guard marks.count < limits.maxMarks else {
                    throw fail("too_deep", "more than \(limits.maxMarks) open MARKs at byte \(opStart)")
                }
                marks.append(stack.count)
            case .pop:
                if let mark = marks.last, mark == stack.count { marks.removeLast() } else { _ = try pop() }
            case .popMark:
                _ = try popToMark()
            case .dup:
                try push(try top())
            case .emptyDict:
                try push(try newNode(.dict))
            case .emptyList:
                try push(try newNode(.list))
            case .emptyTuple:
                try push(try newNode(.tuple))
            case .tuple:
                try push(try newNode(.tuple, try popToMark()))
            case .tuple1, .tuple2, .tuple3:
                let n = Int(op.rawValue - Opcode.tuple1.rawValue) + 1
                guard stack.count - fence >= n else {
                    throw fail("stack_underflow", "\(here) needs \(n) items on the stack")
                }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(try newNode(.tuple, items))
            case .list:
                try push(try newNode(.list, try popToMark()))
            case .dict:
                let items = try popToMark()
                let item = try newNode(.dict)
                try setItems(items, into: try container(item, .dict))
                try push(item)
            case .append:
                let value = try pop()
                try append([value], to: try container(try top(), .list))
            case .appends:
                let items = try popToMark()
                try append(items, to: try container(try top(), .list))
            case .setItem:
                let value = try pop()
                let key = try pop()
                try setItems([key, value], into: try container(try top(), .dict))
            case .setItems:
                let items = try popToMark()
                try setItems(items, into: try container(try top(), .dict))
            case .binPut:
                try memoPut(Int(try u8()))
            case .longBinPut:
                try memoPut(Int(try u32()))
            case .memoize:
                try memoPut(memo.count)
            case .binGet:
                try memoGet(Int(try u8()))
            case .longBinGet:
                try memoGet(Int(try u32()))
            case .binInt:
                try push(.int(Int64(Int32(bitPattern: try u32()))))
            case .binInt1:
                try push(.int(Int64(try u8())))
            case .binInt2:
                try push(.int(Int64(try u16())))
            case .long1:
                try push(.int(try long(Int(try u8()))))
            case .binFloat:
                try push(.float(Double(bitPattern: UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self)))))
            case .none:
                try push(.none)
            case .newTrue:
                try push(.bool(true))
            case .newFalse:
                try push(.bool(false))
            case .binUnicode:
                try push(.string(try text(try length(UInt64(try u32())))))
            case .shortBinUnicode:
                try push(.string(try text(Int(try u8()))))
            case .binUnicode8:
                try push(.string(try text(try length(try u64()))))
            case .binBytes:
                try push(.bytes(Array(try take(try length(UInt64(try u32()))))))
            case .shortBinBytes:
                try push(.bytes(Array(try take(Int(try u8())))))
            case .binBytes8:
                try push(.bytes(Array(try take(try length(try u64())))))
            case .global:
                let module = try line()
                let name = try line()
                try push(.global(try resolve(module, name)))
            case .stackGlobal:
                let name = try pop()
                let module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw fail("type_error", "\(here) expects two strings")
                }
                try push(.global(try resolve(m, n)))
            case .reduce:
                let arguments = try container(try pop(), .tuple).items
                let callable = try pop()
                guard case .global(let global) = callable else {
                    throw fail("type_error", "\(here) calls \(describe(callable)), not an allowed global")
                }
                try push(try reduce(global, arguments))
            case .newObj:
                let arguments = try container(try pop(), .tuple).items
                let cls = try pop()
                guard case .global(.namespace) = cls, arguments.isEmpty else {
                    throw fail("bad_reduce", "\(here) creates \(describe(cls)) with \(arguments.count) arguments; only argparse.Namespace() is supported")
                }
                guard case .node(let node) = try newNode(.dict) else { preconditionFailure("newNode makes nodes") }
                node.isNamespace = true
                try push(.node(node))
            case .build:
                // A Namespace takes its attributes; an `OrderedDict`'s state (torch's `_metadata`
                // attribute) is not needed.
                let state = try pop()
                let object = try top()
                guard case .node(let node) = object, node.kind == .dict else {
                    throw fail("type_error", "\(here) sets state on \(describe(object)); only dicts accept BUILD")
                }
                if node.isNamespace {
                    let attributes = try container(state, .dict)
                    try setItems(Array(zip(attributes.keys, attributes.values).flatMap { [$0, $1] }), into: node)
                }
            case .binPersID:
                try push(.storage(try persistentLoad(try pop())))
            }
        }
    }

    /// LONG1's little-endian two's-complement integer, which must fit 64 bits.
    func long(_ n: Int) throws(CheckpointError) -> Int64 {
        let raw = try take(n)
        guard n > 0 else { return 0 }
        let negative = raw[n - 1] & 0x80 != 0
        var value: UInt64 = negative ? ~0 : 0
        for i in stride(from: min(n, 8) - 1, through: 0, by: -1) {
            value = (value << 8) | UInt64(raw[i])
        }
        let signByte: UInt8 = negative ? 0xFF : 0x00
        let fits = n <= 8 || (raw[8...].allSatisfy { $0 == signByte } && (Int64(bitPattern: value) < 0) == negative)
        guard fits else { throw fail("integer_overflow", "\(here) holds an integer that does not fit in 64 bits") }
        return Int64(bitPattern: value)
    }

    func append(_ items: [Item], to list: Node) throws(CheckpointError) {
        guard items.count <= limits.maxContainerSize - list.items.count else {
            throw fail("too_large", "\(here) grows a list past \(limits.maxContainerSize) items")
        }
        list.items.append(contentsOf: items)
    }

    func setItems(_ items: [Item], into dict: Node) throws(CheckpointError) {
        guard items.count % 2 == 0 else { throw fail("type_error", "\(here) has a key without a value") }
        for i in stride(from: 0, to: items.count, by: 2) {
            let key = try dictKey(items[i])
            if let existing = dict.keyIndex[key] {
                dict.values[existing] = items[i + 1]
            } else {
                guard dict.keys.count < limits.maxContainerSize else {
                    throw fail("too_large", "\(here) grows a dict past \(limits.maxContainerSize) items")
                }
                dict.keyIndex[key] = dict.keys.count
                dict.keys.append(items[i])
                dict.values.append(items[i + 1])
            }
        }
    }

    func dictKey(_ item: Item) throws(CheckpointError) -> DictKey {
        switch item {
        case .none: return .none
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let v): return .int(v)
        case .float(let f):
            if f == f.rounded(.towardZero), abs(f) < 0x1p63 { return .int(Int64(f)) }
            return .float(f.bitPattern)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .node, .tensor, .global, .storage:
            throw fail("type_error", "\(here) uses \(describe(item)) as a dict key; only None, bool, int, float, str and bytes keys are supported")
        }
    }

    // MARK: Globals, reductions and storages

    func resolve(_ module: String, _ name: String) throws(CheckpointError) -> Global {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("pathlib", "PosixPath"): return .posixPath
        case ("argparse", "Namespace"): return .namespace
        case ("__builtin__", "set"), ("builtins", "set"): return .set
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", let storage):
            let types: [String: DType] = [
                "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
                "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
                "ByteStorage": .u8, "BoolStorage": .bool,
            ]
            if let dtype = types[storage] { return .storageType(dtype, "torch.\(storage)") }
        default: break
        }
        throw fail("forbidden_global", "pickle references forbidden global '\(module).\(name)' at byte \(opStart)")
    }

    func reduce(_ callable: Global, _ arguments: [Item]) throws(CheckpointError) -> Item {
        switch callable {
        case .posixPath:
            // `PosixPath('/', 'data', 'run')`: its parts, the root part ending in '/'.
            var path = ""
            for argument in arguments {
                guard case .string(let part) = argument else {
                    throw fail("bad_reduce", "\(here) calls pathlib.PosixPath with \(describe(argument)); only path strings are supported")
                }
                if !path.isEmpty, !path.hasSuffix("/") { path += "/" }
                path += part
            }
            return .string(path)
        case .set:
            guard arguments.count == 1, case .node(let items) = arguments[0], items.kind != .dict else {
                throw fail("bad_reduce", "\(here) calls set without one list of items")
            }
            return try newNode(.list, items.items)
        case .namespace:
            throw fail("bad_reduce", "\(here) calls argparse.Namespace; only NEWOBJ and BUILD create one")
        case .orderedDict:
            guard arguments.isEmpty else {
                throw fail("bad_reduce", "\(here) calls OrderedDict with arguments; only OrderedDict() is supported")
            }
            return try newNode(.dict)
        case .rebuildTensorV2:
            guard arguments.count == 6 || arguments.count == 7 else {
                throw fail("bad_reduce", "\(here) calls _rebuild_tensor_v2 with \(arguments.count) arguments (expected 6 or 7)")
            }
            return .tensor(try rebuildTensor(arguments))
        case .rebuildTensor:
            guard arguments.count == 4 else {
                throw fail("bad_reduce", "\(here) calls _rebuild_tensor with \(arguments.count) arguments (expected 4)")
            }
            return .tensor(try rebuildTensor(arguments))
        case .rebuildParameter:
            guard arguments.count == 3, case .tensor(let data) = arguments[0] else {
                throw fail("bad_reduce", "\(here) calls _rebuild_parameter without (tensor, requires_grad, hooks)")
            }
            return .tensor(data)
        case .storageType(_, let name):
            throw fail("bad_reduce", "\(here) calls \(name), which is only allowed in persistent ids")
        }
    }

    func persistentLoad(_ pid: Item) throws(CheckpointError) -> StorageRef {
        guard case .node(let node) = pid, node.kind == .tuple, node.items.count == 5,
              case .string("storage") = node.items[0],
              case .global(.storageType(let dtype, _)) = node.items[1],
              case .string(let key) = node.items[2],
              case .int(let numel) = node.items[4], numel >= 0,
              case (_, false) = Int(numel).multipliedReportingOverflow(by: dtype.byteWidth) else {
            throw fail("bad_persistent_id", "\(here): persistent id is not ('storage', <torch storage type>, key, location, numel)")
        }
        let count = Int(numel)
        if let known = storages[key] {
            guard known.dtype == dtype, known.count == count else {
                throw fail("bad_persistent_id", "\(here): storage '\(key)' is used as both \(known.dtype.rawValue)×\(known.count) and \(dtype.rawValue)×\(count)")
            }
            return known
        }
        guard let loader else {
            throw fail("unexpected_storage", "\(here) refers to tensor storage '\(key)' but the pickle has no archive to load it from")
        }
        let storage = try loader(key, dtype, count)
        guard storage.bytes.count == count * dtype.byteWidth else {
            throw fail("bad_storage", "storage '\(key)' has \(storage.bytes.count) bytes but \(dtype.rawValue)×\(count) needs \(count * dtype.byteWidth)")
        }
        let ref = StorageRef(key: key, dtype: dtype, count: count, storage: storage)
        storages[key] = ref
        return ref
    }

    /// `_rebuild_tensor[_v2](storage, storage_offset, size, stride, ...)` as a contiguous tensor:
    /// a view of the storage when its strides are contiguous, a gathered copy otherwise.
    func rebuildTensor(_ arguments: [Item]) throws(CheckpointError) -> RawTensor {
        guard case .storage(let s) = arguments[0] else {
            throw fail("bad_tensor", "\(here): the first argument of a tensor rebuild is \(describe(arguments[0])), not a storage")
        }
        guard case .int(let rawOffset) = arguments[1], rawOffset >= 0, rawOffset <= Int64(s.count) else {
            throw fail("bad_tensor", "\(here): storage offset \(describe(arguments[1])) is not within storage '\(s.key)' of \(s.count) elements")
        }
        let offset = Int(rawOffset)
        let shape = try dimensions(arguments[2], "size")
        let strides = try dimensions(arguments[3], "stride")
        guard shape.count == strides.count else {
            throw fail("bad_tensor", "\(here): size \(shape) and stride \(strides) have different ranks")
        }
        let width = s.dtype.byteWidth
        guard let count = elementCount(shape) else {
            throw fail("bad_tensor", "\(here): size \(shape) has too many elements")
        }
        if count == 0 {
            return RawTensor(dtype: s.dtype, shape: shape, bytes: UnsafeRawBufferPointer(rebasing: s.storage.bytes[0..<0]), owner: s.storage.owner)
        }
        // The last element the view touches must be inside the storage.
        var last = offset
        for (size, stride) in zip(shape, strides) {
            let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { throw fail("bad_tensor", "\(here): size \(shape) with stride \(strides) overflows") }
            last = sum
        }
        guard last < s.count else {
            throw fail("bad_tensor", "\(here): a view at offset \(offset) with size \(shape) and stride \(strides) reaches element \(last) of storage '\(s.key)', which has \(s.count)")
        }
        var expected = 1
        var contiguous = true
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1, stride != expected { contiguous = false }
            expected *= size
        }
        if contiguous {
            let view = UnsafeRawBufferPointer(rebasing: s.storage.bytes[(offset * width)..<((offset + count) * width)])
            return RawTensor(dtype: s.dtype, shape: shape, bytes: view, owner: s.storage.owner)
        }
        // Overlapping views (stride 0) could expand a small storage without bound.
        guard count <= s.count, count * width <= limits.maxGatheredBytes - gatheredBytes else {
            throw fail("too_large", "\(here): a strided view of \(count) elements of storage '\(s.key)' (\(s.count) elements) is too large to copy")
        }
        gatheredBytes += count * width
        var out = [UInt8](repeating: 0, count: count * width)
        var index = [Int](repeating: 0, count: shape.count)
        var source = offset
        out.withUnsafeMutableBytes { destination in
            for element in 0..<count {
                destination.baseAddress!.advanced(by: element * width)
                    .copyMemory(from: s.storage.bytes.baseAddress!.advanced(by: source * width), byteCount: width)
                var dim = shape.count - 1
                while dim >= 0 {
                    index[dim] += 1
                    source += strides[dim]
                    if index[dim] < shape[dim] { break }
                    source -= strides[dim] * shape[dim]
                    index[dim] = 0
                    dim -= 1
                }
            }
        }
        return RawTensor(dtype: s.dtype, shape: shape, data: out)
    }

    func dimensions(_ item: Item, _ what: String) throws(CheckpointError) -> [Int] {
        guard case .node(let node) = item, node.kind == .tuple else {
            throw fail("bad_tensor", "\(here): tensor \(what) is \(describe(item)), not a tuple")
        }
        var out: [Int] = []
        for element in node.items {
            guard case .int(let v) = element, v >= 0 else {
                throw fail("bad_tensor", "\(here): tensor \(what) holds \(describe(element)), not a non-negative int")
            }
            out.append(Int(v))
        }
        return out
    }

    // MARK: Result

    func convert(_ item: Item, depth: Int, budget: inout Int) throws(CheckpointError) -> PickleValue {
        budget -= 1
        guard budget >= 0 else {
            throw fail("too_large", "pickle result has more than \(limits.maxValues) values")
        }
        switch item {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let v): return .int(v)
        case .float(let f): return .float(f)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .tensor(let t): return .tensor(t)
        case .global(let g):
            throw fail("unsupported_value", "pickle result holds \(describe(.global(g))) itself rather than data")
        case .storage(let s):
            throw fail("unsupported_value", "pickle result holds storage '\(s.key)' rather than a tensor")
        case .node(let node):
            guard depth < limits.maxDepth else {
                throw fail("too_deep", "pickle nests containers more than \(limits.maxDepth) deep (or a container contains itself)")
            }
            switch node.kind {
            case .list, .tuple:
                var items: [PickleValue] = []
                items.reserveCapacity(node.items.count)
                for child in node.items { items.append(try convert(child, depth: depth + 1, budget: &budget)) }
                return node.kind == .list ? .list(items) : .tuple(items)
            case .dict:
                var pairs: [(key: PickleValue, value: PickleValue)] = []
                pairs.reserveCapacity(node.keys.count)
                for (k, v) in zip(node.keys, node.values) {
                    pairs.append((try convert(k, depth: depth + 1, budget: &budget), try convert(v, depth: depth + 1, budget: &budget)))
                }
                return .dict(pairs)
            }
        }
    }

    func describe(_ item: Item) -> String {
        switch item {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let v): "int \(v)"
        case .float(let f): "float \(f)"
        case .string: "a str"
        case .bytes: "bytes"
        case .node(let n): "a \(n.kind)"
        case .tensor: "a tensor"
        case .storage(let s): "storage '\(s.key)'"
        case .global(let g):
            switch g {
            case .orderedDict: "collections.OrderedDict"
            case .posixPath: "pathlib.PosixPath"
            case .namespace: "argparse.Namespace"
            case .set: "set"
            case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
            case .rebuildTensor: "torch._utils._rebuild_tensor"
            case .rebuildParameter: "torch._utils._rebuild_parameter"
            case .storageType(_, let name): name
            }
        }
    }
}
