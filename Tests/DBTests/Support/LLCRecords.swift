@testable import DB

extension Records {
    /// An LLC estimate of two chains, three draws after one burn-in step: the second diverged
    /// (an infinite loss) at step 2.
    static func llc() -> LLCRecord {
        LLCRecord(
            evalFingerprint: "eval-sha256:abc",
            evalData: #"{"form": "tensors", "file": "digits_val.safetensors", "rows": 773, "row_length": 64}"#,
            settingsKey: "llc-key-1", parameters: "", epsilon: 1e-3, gamma: 100, nbeta: 9.233, nbetaRule: "auto",
            draws: 3, burnIn: 1, batchSize: 32, seed: 7, dimension: 4810, initLoss: 0.0625, mean: 5.5,
            standardDeviation: 0, seconds: 0.5, secondsPerDraw: 0.0625, softwareVersion: "volumed 0.1.0",
            chains: [
                LLCRecord.Chain(llc: 5.5, losses: [0.25, 0.5, 0.75, 0.625], flatAfterBurnIn: true, divergence: nil),
                LLCRecord.Chain(llc: .nan, losses: [0.25, 1.5, .infinity], flatAfterBurnIn: false,
                                divergence: LLCRecord.Chain.Divergence(step: 2, kind: "non_finite", loss: .infinity)),
            ])
    }
}
