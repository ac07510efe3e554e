import Base
import Estimator

/// Why a benchmark could not measure: missing fixtures, a checkpoint of the wrong kind, bad
/// sizes, or a run that did not finish. `code` is `bench.*`.
public struct BenchmarkError: CodedError {
    public let code: String
    public let description: String

    public init(code: String, _ description: String) {
        self.code = code
        self.description = description
    }
}
