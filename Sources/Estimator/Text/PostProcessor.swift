/// A `post_processor` of `tokenizer.json`, for one sequence: TemplateProcessing's `single`
/// template, BertProcessing and RobertaProcessing (`cls $A sep`), ByteLevel (offsets only, so
/// the ids stay), and a Sequence of these.
enum PostProcessor: Sendable {
    enum TemplatePiece: Sendable {
        case sequence
        case special([Int32])
    }

    case template([TemplatePiece])
    case wrap(first: Int32, last: Int32)
    case byteLevel
    case sequence([PostProcessor])

    func process(_ ids: [Int32], addSpecialTokens: Bool) -> [Int32] {
        switch self {
        case .byteLevel:
            return ids
        case .sequence(let processors):
            var ids = ids
            for processor in processors { ids = processor.process(ids, addSpecialTokens: addSpecialTokens) }
            return ids
        case .wrap(let first, let last):
            return addSpecialTokens ? [first] + ids + [last] : ids
        case .template(let pieces):
            var result: [Int32] = []
            for piece in pieces {
                switch piece {
                case .sequence: result += ids
                case .special(let special): if addSpecialTokens { result += special }
                }
            }
            return result
        }
    }
}
