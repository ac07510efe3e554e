import Base

/// Reads the parts of a `tokenizer.json` into the pipeline's components, with errors that name
/// the key path (`model.merges[12]`, `pre_tokenizer.pretokenizers[0].pattern`).
struct TokenizerFile {
    /// Bounds on what a file may hold, so a hostile file cannot exhaust memory.
    enum Limits {
        static let fileBytes = 64 << 20
        static let vocabulary = 4_000_000
        static let merges = 4_000_000
        static let addedTokens = 1_000_000
        static let tokenScalars = 1 << 16
        static let componentsInSequence = 256
        static let templatePieces = 4096
    }

    let source: String

    func malformed(_ path: String, _ detail: String) -> CheckpointError {
        CheckpointError("tokenizer.malformed", file: source, "\(path): \(detail)")
    }

    func unsupported(_ path: String, _ detail: String) -> CheckpointError {
        CheckpointError("tokenizer.unsupported", file: source, "\(path): \(detail)")
    }

    func object(_ value: JSONValue, _ path: String) throws(CheckpointError) -> JSONObject {
        guard let o = value.objectValue else { throw malformed(path, "expected an object") }
        return o
    }

    func string(_ value: JSONValue?, _ path: String) throws(CheckpointError) -> String {
        guard let s = value?.stringValue else { throw malformed(path, value == nil ? "missing" : "expected a string") }
        guard s.unicodeScalars.count <= Limits.tokenScalars else { throw malformed(path, "string longer than \(Limits.tokenScalars) characters") }
        return s
    }

    func optionalString(_ value: JSONValue?, _ path: String) throws(CheckpointError) -> String? {
        guard let value, !value.isNull else { return nil }
        return try string(value, path)
    }

    func bool(_ value: JSONValue?, _ path: String, default fallback: Bool) throws(CheckpointError) -> Bool {
        guard let value, !value.isNull else { return fallback }
        guard let b = value.boolValue else { throw malformed(path, "expected true or false") }
        return b
    }

    func id(_ value: JSONValue?, _ path: String) throws(CheckpointError) -> Int32 {
        guard let n = value?.intValue, n >= 0, n <= Int(Int32.max) else { throw malformed(path, "expected a token id (0 to \(Int32.max))") }
        return Int32(n)
    }

    func array(_ value: JSONValue?, _ path: String, limit: Int) throws(CheckpointError) -> [JSONValue] {
        guard let a = value?.arrayValue else { throw malformed(path, value == nil ? "missing" : "expected an array") }
        guard a.count <= limit else { throw CheckpointError("tokenizer.too_large", file: source, "\(path): \(a.count) entries, more than \(limit)") }
        return a
    }

    /// The component's `type`.
    func type(_ o: JSONObject, _ path: String) throws(CheckpointError) -> String {
        try string(o["type"], path + ".type")
    }

    func pattern(_ value: JSONValue?, _ path: String) throws(CheckpointError) -> TokenizerPattern {
        guard let value else { throw malformed(path, "missing") }
        let o = try object(value, path)
        let regex = try optionalString(o["Regex"], path + ".Regex")
        let literal = try optionalString(o["String"], path + ".String")
        do throws(PatternError) {
            if let regex { return try TokenizerPattern(regex: regex) }
            if let literal { return try TokenizerPattern(literal: literal) }
        } catch {
            if error.unsupported { throw unsupported(path, "pattern uses \(error.message)") }
            throw malformed(path, "invalid pattern: \(error.message)")
        }
        throw malformed(path, "expected {\"Regex\": …} or {\"String\": …}")
    }

    func scalars(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

    // MARK: Components

    func normalizer(_ value: JSONValue, _ path: String) throws(CheckpointError) -> TextNormalizer? {
        if value.isNull { return nil }
        let o = try object(value, path)
        let kind = try type(o, path)
        switch kind {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "Lowercase": return .lowercase
        case "Replace":
            return .replace(try pattern(o["pattern"], path + ".pattern"), content: scalars(try string(o["content"], path + ".content")))
        case "Prepend":
            return .prepend(scalars(try string(o["prepend"], path + ".prepend")))
        case "Strip":
            return .strip(left: try bool(o["strip_left"], path + ".strip_left", default: false),
                          right: try bool(o["strip_right"], path + ".strip_right", default: false))
        case "Sequence":
            let items = try array(o["normalizers"], path + ".normalizers", limit: Limits.componentsInSequence)
            var steps: [TextNormalizer] = []
            for (i, item) in items.enumerated() {
                if let step = try normalizer(item, "\(path).normalizers[\(i)]") { steps.append(step) }
            }
            return .sequence(steps)
        default:
            throw unsupported(path, "normalizer \(kind) is not supported (supported: NFC, NFD, Lowercase, Replace, Prepend, Strip, Sequence)")
        }
    }

    func preTokenizer(_ value: JSONValue, _ path: String) throws(CheckpointError) -> PreTokenizer? {
        if value.isNull { return nil }
        let o = try object(value, path)
        let kind = try type(o, path)
        switch kind {
        case "ByteLevel":
            let useRegex = try bool(o["use_regex"], path + ".use_regex", default: true)
            return .byteLevel(addPrefixSpace: try bool(o["add_prefix_space"], path + ".add_prefix_space", default: true),
                              pattern: useRegex ? TokenizerPattern.byteLevel() : nil)
        case "Split":
            let behaviorName = try string(o["behavior"], path + ".behavior")
            guard let behavior = SplitBehavior(rawValue: behaviorName) else { throw malformed(path + ".behavior", "unknown behavior \(behaviorName)") }
            return .split(try pattern(o["pattern"], path + ".pattern"), behavior: behavior,
                          invert: try bool(o["invert"], path + ".invert", default: false))
        case "Metaspace":
            let replacement = scalars(try string(o["replacement"], path + ".replacement"))
            guard replacement.count == 1 else { throw malformed(path + ".replacement", "expected one character") }
            var scheme = PreTokenizer.PrependScheme.always
            if let name = try optionalString(o["prepend_scheme"], path + ".prepend_scheme") {
                guard let s = PreTokenizer.PrependScheme(rawValue: name) else { throw malformed(path + ".prepend_scheme", "unknown scheme \(name)") }
                scheme = s
            }
            if try bool(o["add_prefix_space"], path + ".add_prefix_space", default: true) == false {
                guard scheme == .never else { throw malformed(path + ".add_prefix_space", "add_prefix_space does not match declared prepend_scheme") }
            }
            return .metaspace(replacement: replacement[0], prepend: scheme, split: try bool(o["split"], path + ".split", default: true))
        case "Digits":
            return .digits(individual: try bool(o["individual_digits"], path + ".individual_digits", default: false))
        case "Sequence":
            let items = try array(o["pretokenizers"], path + ".pretokenizers", limit: Limits.componentsInSequence)
            var steps: [PreTokenizer] = []
            for (i, item) in items.enumerated() {
                if let step = try preTokenizer(item, "\(path).pretokenizers[\(i)]") { steps.append(step) }
            }
            return .sequence(steps)
        default:
            throw unsupported(path, "pre-tokenizer \(kind) is not supported (supported: ByteLevel, Split, Metaspace, Digits, Sequence)")
        }
    }

    func postProcessor(_ value: JSONValue, _ path: String, tokenId: (String) -> Int32?) throws(CheckpointError) -> PostProcessor? {
        if value.isNull { return nil }
        let o = try object(value, path)
        let kind = try type(o, path)
        switch kind {
        case "ByteLevel":
            return .byteLevel
        case "TemplateProcessing":
            return try template(o, path)
        case "BertProcessing", "RobertaProcessing":
            func pair(_ key: String) throws(CheckpointError) -> Int32 {
                let items = try array(o[key], "\(path).\(key)", limit: 2)
                guard items.count == 2 else { throw malformed("\(path).\(key)", "expected [token, id]") }
                _ = try string(items[0], "\(path).\(key)[0]")
                return try id(items[1], "\(path).\(key)[1]")
            }
            return .wrap(first: try pair("cls"), last: try pair("sep"))
        case "Sequence":
            let items = try array(o["processors"], path + ".processors", limit: Limits.componentsInSequence)
            var steps: [PostProcessor] = []
            for (i, item) in items.enumerated() {
                if let step = try postProcessor(item, "\(path).processors[\(i)]", tokenId: tokenId) { steps.append(step) }
            }
            return .sequence(steps)
        default:
            throw unsupported(path, "post-processor \(kind) is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)")
        }
    }

    private func template(_ o: JSONObject, _ path: String) throws(CheckpointError) -> PostProcessor {
        var specials: [String: [Int32]] = [:]
        let table = try object(o["special_tokens"] ?? .null, path + ".special_tokens")
        for (key, entry) in table.entries {
            let entryPath = "\(path).special_tokens.\(key)"
            let e = try object(entry, entryPath)
            let ids = try array(e["ids"], entryPath + ".ids", limit: Limits.templatePieces)
            var list: [Int32] = []
            for (i, item) in ids.enumerated() { list.append(try id(item, "\(entryPath).ids[\(i)]")) }
            specials[key] = list
        }
        let single = try array(o["single"], path + ".single", limit: Limits.templatePieces)
        var pieces: [PostProcessor.TemplatePiece] = []
        for (i, item) in single.enumerated() {
            let piecePath = "\(path).single[\(i)]"
            let p = try object(item, piecePath)
            if let sequence = p["Sequence"] {
                let name = try string(try object(sequence, piecePath + ".Sequence")["id"], piecePath + ".Sequence.id")
                guard name == "A" else { throw malformed(piecePath, "the single template can only use sequence A, not \(name)") }
                pieces.append(.sequence)
            } else if let special = p["SpecialToken"] {
                let name = try string(try object(special, piecePath + ".SpecialToken")["id"], piecePath + ".SpecialToken.id")
                guard let ids = specials[name] else { throw malformed(piecePath, "special token \(name) is not in special_tokens") }
                pieces.append(.special(ids))
            } else {
                throw malformed(piecePath, "expected {\"Sequence\": …} or {\"SpecialToken\": …}")
            }
        }
        return .template(pieces)
    }

    func model(_ value: JSONValue, _ path: String) throws(CheckpointError) -> BPEModel {
        let o = try object(value, path)
        let kind = try optionalString(o["type"], path + ".type") ?? (o["merges"] != nil ? "BPE" : "unknown")
        guard kind == "BPE" else {
            throw unsupported(path + ".type", "model \(kind) is not supported (supported: BPE)")
        }
        if let dropout = o["dropout"], !dropout.isNull {
            guard let p = dropout.doubleValue else { throw malformed(path + ".dropout", "expected a number or null") }
            guard p == 0 else { throw unsupported(path + ".dropout", "BPE dropout \(p) makes encoding random; it must be null") }
        }
        let vocabObject = try object(o["vocab"] ?? .null, path + ".vocab")
        guard vocabObject.count <= Limits.vocabulary else {
            throw CheckpointError("tokenizer.too_large", file: source, "\(path).vocab: \(vocabObject.count) entries, more than \(Limits.vocabulary)")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject.entries {
            vocab[token] = try id(value, "\(path).vocab.\(token)")
        }
        let prefix = try optionalString(o["continuing_subword_prefix"], path + ".continuing_subword_prefix")
        let suffix = try optionalString(o["end_of_word_suffix"], path + ".end_of_word_suffix")
        let mergeList = try array(o["merges"], path + ".merges", limit: Limits.merges)
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(mergeList.count)
        let prefixLength = prefix?.utf8.count ?? 0
        var rank: Int32 = 0
        for (i, entry) in mergeList.enumerated() {
            let mergePath = "\(path).merges[\(i)]"
            let a: String, b: String
            if let line = entry.stringValue {
                // The legacy form "a b"; a "#version" line is skipped, as in merges.txt.
                if line.hasPrefix("#version") { continue }
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw malformed(mergePath, "expected \"a b\", got \"\(line)\"") }
                (a, b) = (String(parts[0]), String(parts[1]))
            } else if let pair = entry.arrayValue, pair.count == 2 {
                (a, b) = (try string(pair[0], mergePath + "[0]"), try string(pair[1], mergePath + "[1]"))
            } else {
                throw malformed(mergePath, "expected \"a b\" or [\"a\", \"b\"]")
            }
            guard let aId = vocab[a] else { throw mergeError(mergePath, a) }
            guard let bId = vocab[b] else { throw mergeError(mergePath, b) }
            // The merged token drops the second part's continuing-subword prefix.
            let bBytes = Array(b.utf8)
            guard bBytes.count >= prefixLength else { throw malformed(mergePath, "\"\(b)\" is shorter than the continuing_subword_prefix") }
            let merged = String(decoding: Array(a.utf8) + bBytes[prefixLength...], as: UTF8.self)
            guard let mergedId = vocab[merged] else { throw mergeError(mergePath, merged) }
            merges[pairKey(aId, bId)] = (rank, mergedId)
            rank += 1
        }
        var unknown: Int32?
        if let unk = try optionalString(o["unk_token"], path + ".unk_token") {
            guard let unkId = vocab[unk] else {
                throw CheckpointError("tokenizer.unknown_token_missing", file: source, "\(path).unk_token: \"\(unk)\" is not in the vocabulary")
            }
            unknown = unkId
        }
        return BPEModel(vocab: vocab, merges: merges, unknown: unknown,
                        fuseUnknown: try bool(o["fuse_unk"], path + ".fuse_unk", default: false),
                        byteFallback: try bool(o["byte_fallback"], path + ".byte_fallback", default: false),
                        ignoreMerges: try bool(o["ignore_merges"], path + ".ignore_merges", default: false),
                        continuingSubwordPrefix: prefix, endOfWordSuffix: suffix)
    }

    private func mergeError(_ path: String, _ token: String) -> CheckpointError {
        CheckpointError("tokenizer.merge_unknown_token", file: source, "\(path): \"\(token)\" is not in the vocabulary")
    }

    func addedTokens(_ value: JSONValue?, _ path: String) throws(CheckpointError) -> [AddedTokens.Token] {
        guard let value, !value.isNull else { return [] }
        let items = try array(value, path, limit: Limits.addedTokens)
        var tokens: [AddedTokens.Token] = []
        tokens.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let itemPath = "\(path)[\(i)]"
            let o = try object(item, itemPath)
            _ = try id(o["id"], itemPath + ".id")
            tokens.append(AddedTokens.Token(
                content: try string(o["content"], itemPath + ".content"),
                singleWord: try bool(o["single_word"], itemPath + ".single_word", default: false),
                lstrip: try bool(o["lstrip"], itemPath + ".lstrip", default: false),
                rstrip: try bool(o["rstrip"], itemPath + ".rstrip", default: false),
                normalized: try bool(o["normalized"], itemPath + ".normalized", default: true),
                special: try bool(o["special"], itemPath + ".special", default: false)))
        }
        return tokens
    }
}
