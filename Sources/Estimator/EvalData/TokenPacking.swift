/// How documents become eval rows (`[data] sequence_length`, `sequences`): documents joined
/// with the EOS token between them (none when the tokenizer names no EOS), cut into rows of
/// `sequenceLength` ids, the partial last row dropped, at most `sequences` rows kept.
public struct TokenPacking: Sendable, Equatable {
    public static let defaultSequenceLength = 512
    /// The paper's Pythia eval: 20 sequences of 512 tokens.
    public static let defaultSequences = 20

    public var sequenceLength: Int
    public var sequences: Int
    /// The id put between documents.
    public var eos: Int32?

    public init(sequenceLength: Int = defaultSequenceLength, sequences: Int = defaultSequences, eos: Int32? = nil) {
        self.sequenceLength = sequenceLength
        self.sequences = sequences
        self.eos = eos
    }

    /// The ids that fill every row; documents beyond them are not needed.
    public var tokensNeeded: Int {
        let (product, overflow) = sequenceLength.multipliedReportingOverflow(by: sequences)
        return overflow ? .max : product
    }

    /// `[rows, sequenceLength]` from documents; `source` names the data in errors.
    public func pack(documents: [[Int32]], source: String) throws(CheckpointError) -> Tensor<Int32> {
        let needed = tokensNeeded
        var stream: [Int32] = []
        stream.reserveCapacity(min(needed, documents.reduce(0) { $0 + $1.count + 1 }))
        for (i, document) in documents.enumerated() {
            if i > 0, let eos { stream.append(eos) }
            stream += document.prefix(needed - stream.count)
            if stream.count >= needed { break }
        }
        return try pack(stream: stream, source: source)
    }

    /// `[rows, sequenceLength]` from one stream of ids.
    public func pack(stream: [Int32], source: String) throws(CheckpointError) -> Tensor<Int32> {
        precondition(sequenceLength >= 1 && sequences >= 1, "packing needs rows of at least one token")
        let rows = min(sequences, stream.count / sequenceLength)
        guard rows > 0 else {
            throw CheckpointError("eval.too_short", file: source,
                                  "the data holds \(stream.count) tokens, fewer than one row of sequence_length \(sequenceLength)")
        }
        return Tensor(shape: [rows, sequenceLength], scalars: Array(stream.prefix(rows * sequenceLength)))
    }

    /// `sequence_length=…,sequences=…,eos=…|none`: what the packing contributes to the eval
    /// data's provenance and fingerprint.
    public var canonical: String {
        "sequence_length=\(sequenceLength),sequences=\(sequences),eos=\(eos.map(String.init) ?? "none")"
    }
}
