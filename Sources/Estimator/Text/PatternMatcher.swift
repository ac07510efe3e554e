/// A parsed pattern compiled for a backtracking matcher with Oniguruma's semantics: leftmost
/// match, alternatives tried in order, greedy/lazy/possessive repeats, and Oniguruma's rule for
/// empty matches when finding all matches. Each search has a step budget, so a hostile pattern
/// fails with `tokenizer.pattern_too_complex` instead of running for hours.
struct PatternMatcher: Sendable {
    enum Instruction: Sendable {
        case set(Int32)
        case split(Int32, Int32)
        case jump(Int32)
        case anchor(PatternNode.Anchor)
        case lookahead(Int32, negative: Bool)
        case atomic(Int32)
        /// Remembers the position in a register, to stop loops whose body matched nothing.
        case mark(Int32)
        case progress(Int32)
        case done
    }

    static let maxInstructions = 200_000

    private var programs: [[Instruction]] = []
    private var sets: [ScalarSet] = []
    private var registers = 0

    struct TooLarge: Error {}

    init(_ node: PatternNode) throws(PatternError) {
        do throws(TooLarge) {
            var main: [Instruction] = []
            programs.append([])
            try emit(node, into: &main)
            main.append(.done)
            programs[0] = main
        } catch {
            throw PatternError(unsupported: false, message: "pattern compiles to more than \(Self.maxInstructions) instructions")
        }
    }

    private var instructionCount: Int { programs.reduce(0) { $0 + $1.count } }

    private mutating func emit(_ node: PatternNode, into code: inout [Instruction]) throws(TooLarge) {
        guard code.count + instructionCount < Self.maxInstructions else { throw TooLarge() }
        switch node {
        case .empty:
            break
        case .set(let set):
            sets.append(set)
            code.append(.set(Int32(sets.count - 1)))
        case .anchor(let anchor):
            code.append(.anchor(anchor))
        case .sequence(let items):
            for item in items { try emit(item, into: &code) }
        case .alternation(let branches):
            var jumpsToEnd: [Int] = []
            for (i, branch) in branches.enumerated() {
                if i < branches.count - 1 {
                    let split = code.count
                    code.append(.split(0, 0))
                    try emit(branch, into: &code)
                    jumpsToEnd.append(code.count)
                    code.append(.jump(0))
                    code[split] = .split(Int32(split + 1), Int32(code.count))
                } else {
                    try emit(branch, into: &code)
                }
            }
            for j in jumpsToEnd { code[j] = .jump(Int32(code.count)) }
        case .repetition(let body, let min, let max, let mode):
            if mode == .possessive {
                try emitSubprogram(.repetition(body, min: min, max: max, mode: .greedy), into: &code) { .atomic($0) }
                return
            }
            for _ in 0..<min { try emit(body, into: &code) }
            if let max {
                // Optional copies, each one exiting to the end when it is not taken.
                var exits: [Int] = []
                for _ in min..<max {
                    exits.append(code.count)
                    code.append(.split(0, 0))
                    try emit(body, into: &code)
                }
                for e in exits {
                    code[e] = mode == .greedy ? .split(Int32(e + 1), Int32(code.count)) : .split(Int32(code.count), Int32(e + 1))
                }
            } else {
                let loop = code.count
                code.append(.split(0, 0))
                let guarded = body.canBeEmpty
                let register = Int32(registers)
                if guarded {
                    registers += 1
                    code.append(.mark(register))
                }
                try emit(body, into: &code)
                if guarded { code.append(.progress(register)) }
                code.append(.jump(Int32(loop)))
                code[loop] = mode == .greedy ? .split(Int32(loop + 1), Int32(code.count)) : .split(Int32(code.count), Int32(loop + 1))
            }
        case .lookahead(let body, let negative):
            try emitSubprogram(body, into: &code) { .lookahead($0, negative: negative) }
        case .atomic(let body):
            try emitSubprogram(body, into: &code) { .atomic($0) }
        }
    }

    private mutating func emitSubprogram(_ body: PatternNode, into code: inout [Instruction], _ make: (Int32) -> Instruction) throws(TooLarge) {
        let index = programs.count
        programs.append([])
        var sub: [Instruction] = []
        try emit(body, into: &sub)
        sub.append(.done)
        programs[index] = sub
        code.append(make(Int32(index)))
    }

    struct BudgetExceeded: Error {}

    /// The end of the match of program `index` starting at `start`, if there is one.
    private func run(_ index: Int, _ text: UnsafeBufferPointer<UInt32>, at start: Int, budget: inout Int,
                     registerValues: inout [Int]) throws(BudgetExceeded) -> Int? {
        let code = programs[index]
        // Backtrack entries: (pc, pos), or (-1 - register, old value) to restore a register.
        var stack: [(Int32, Int)] = []
        var pc = 0
        var pos = start
        let n = text.count
        while true {
            budget -= 1
            if budget < 0 { throw BudgetExceeded() }
            var ok = true
            switch code[pc] {
            case .set(let s):
                if pos < n && sets[Int(s)].contains(text[pos]) { pos += 1; pc += 1 } else { ok = false }
            case .split(let a, let b):
                stack.append((b, pos))
                pc = Int(a)
            case .jump(let a):
                pc = Int(a)
            case .anchor(let anchor):
                if matches(anchor, text, pos) { pc += 1 } else { ok = false }
            case .lookahead(let p, let negative):
                let found = try run(Int(p), text, at: pos, budget: &budget, registerValues: &registerValues) != nil
                if found != negative { pc += 1 } else { ok = false }
            case .atomic(let p):
                if let end = try run(Int(p), text, at: pos, budget: &budget, registerValues: &registerValues) { pos = end; pc += 1 } else { ok = false }
            case .mark(let r):
                stack.append((-1 - r, registerValues[Int(r)]))
                registerValues[Int(r)] = pos
                pc += 1
            case .progress(let r):
                if registerValues[Int(r)] != pos { pc += 1 } else { ok = false }
            case .done:
                return pos
            }
            if ok { continue }
            // Backtrack.
            while true {
                guard let (p, value) = stack.popLast() else { return nil }
                if p < 0 {
                    registerValues[Int(-1 - p)] = value
                    continue
                }
                pc = Int(p)
                pos = value
                break
            }
        }
    }

    private func matches(_ anchor: PatternNode.Anchor, _ text: UnsafeBufferPointer<UInt32>, _ pos: Int) -> Bool {
        let n = text.count
        switch anchor {
        case .lineStart: return pos == 0 || text[pos - 1] == 0x0A
        case .lineEnd: return pos == n || text[pos] == 0x0A
        case .textStart: return pos == 0
        case .textEnd: return pos == n
        case .textEndBeforeNewline: return pos == n || (pos == n - 1 && text[pos] == 0x0A)
        case .wordBoundary, .notWordBoundary:
            let before = pos > 0 && UnicodeTables.isWordOniguruma(text[pos - 1])
            let after = pos < n && UnicodeTables.isWordOniguruma(text[pos])
            return (before != after) == (anchor == .wordBoundary)
        }
    }

    /// Every match in `text`, as Oniguruma's `find_iter` gives them: leftmost first, and an empty
    /// match right where the previous match ended is skipped.
    func matchRanges(in text: [UInt32]) throws(BudgetExceeded) -> [Range<Int>] {
        var budget = 10_000_000 + 400 * text.count
        var registerValues = [Int](repeating: -1, count: registers)
        var ranges: [Range<Int>] = []
        var result: Result<Void, BudgetExceeded> = .success(())
        text.withUnsafeBufferPointer { buffer in
            do throws(BudgetExceeded) {
                var from = 0
                var lastEnd = -1
                let n = buffer.count
                search: while from <= n {
                    var start = from
                    while start <= n {
                        if let end = try run(0, buffer, at: start, budget: &budget, registerValues: &registerValues) {
                            if start == end {
                                from = end + 1
                                if end == lastEnd { continue search }
                            } else {
                                from = end
                            }
                            lastEnd = end
                            ranges.append(start..<end)
                            continue search
                        }
                        start += 1
                    }
                    break
                }
            } catch {
                result = .failure(error)
            }
        }
        if case .failure(let error) = result { throw error }
        return ranges
    }
}
