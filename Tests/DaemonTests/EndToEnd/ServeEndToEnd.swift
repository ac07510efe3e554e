import Testing

/// End-to-end tests of `volumed serve`: the built executable as a child process, its own
/// embedded PostgreSQL in a temporary state directory, real inotify on a temporary watch
/// folder and the real digits checkpoints. One at a time: each runs a daemon and a database
/// cluster, and the shutdown test needs an estimate that is still running when it signals.
@Suite(.timeLimit(.minutes(3))) enum ServeEndToEnd {}
