/// A program that could not be started or waited for.
public struct SpawnError: CodedError, Equatable {
    /// The program's path.
    public let executable: String
    /// What went wrong, naming the program.
    public let message: String

    public init(executable: String, _ message: String) {
        self.executable = executable
        self.message = message
    }

    public var code: String { "process.spawn" }

    public var description: String { message }
}
