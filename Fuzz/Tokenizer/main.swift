import CFuzzer
import Estimator

#if canImport(Glibc)
import Glibc
#endif

/// A `tokenizer.json` (any pipeline this reader accepts) encodes a fixed mixed string; the
/// input as `.jsonl` text documents is read; and the input as text goes through a fixed small
/// tokenizer with added tokens, NFC, the Llama-3 split, ByteLevel, merges and a template. None
/// may crash, hang or allocate without bound.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    _ = try? TextDocuments.jsonLines(bytes, source: "fuzz.jsonl")
    if let tokenizer = try? Tokenizer(json: bytes, source: "fuzz.json") {
        _ = try? tokenizer.encode(mixedText)
        _ = try? tokenizer.encode(mixedText, addSpecialTokens: false)
        _ = tokenizer.id(of: "<|endoftext|>")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        // Built per input: a tokenizer kept in a global reads as a leak to LeakSanitizer (its enum
        // payloads hold tagged pointers).
        let fixedTokenizer = try Tokenizer(json: fixedTokenizerJSON, source: "fixed.json")
        let ids = try fixedTokenizer.encode(text)
        precondition(ids.first == 261, "the template's first token is missing")
        _ = try fixedTokenizer.encode(text, addSpecialTokens: false)
    } catch {
        _ = error.description
    }
}

let mixedText = "Héllo wörld, I'M here!\t\t 12345 ١٢٣ <|endoftext|> e\u{301} 👨‍👩‍👧 \u{3000}x\r\n  def f(x): return x**2 ſ'S"

/// GPT-2's byte-to-character map, which the fixed tokenizer's vocabulary spells its bytes with.
func byteCharacters() -> [String] {
    var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
    var table = [Int](repeating: 0, count: 256)
    for b in printable { table[b] = b }
    var n = 0
    for b in 0..<256 where !printable.contains(b) {
        table[b] = 256 + n
        n += 1
        printable.append(b)
    }
    return table.map { String(Character(Unicode.Scalar(UInt32($0))!)) }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// The fixed tokenizer's `tokenizer.json`.
let fixedTokenizerJSON: [UInt8] = {
    var vocab = byteCharacters()
    vocab += ["Ġt", "he", "Ġthe", "in", "Ġin"]
    let vocabJSON = vocab.enumerated().map { "\(jsonString($1)): \($0)" }.joined(separator: ", ")
    let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
    let json = #"""
    {"version": "1.0",
     "added_tokens": [
       {"id": 261, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
       {"id": 262, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": true, "special": false},
       {"id": 263, "content": "[W]", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false}],
     "normalizer": {"type": "NFC"},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
       {"type": "Split", "pattern": {"Regex": "\#(llama3)"}, "behavior": "Isolated", "invert": false},
       {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
     "post_processor": {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [], "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [261], "tokens": ["<|endoftext|>"]}}},
     "model": {"type": "BPE", "dropout": null, "unk_token": null, "ignore_merges": true,
       "vocab": {\#(vocabJSON)},
       "merges": [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["i", "n"], ["Ġ", "in"]]}}
    """#
    let bytes = Array(json.utf8)
    if let error = Result(catching: { try Tokenizer(json: bytes, source: "fixed.json") }).failure {
        fatalError("the harness's fixed tokenizer does not load: \(error)")
    }
    return bytes
}()

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
