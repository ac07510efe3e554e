import Testing

/// End-to-end tests of `volumed serve`: the built executable as a child process, its own
/// embedded PostgreSQL in a temporary state directory, real inotify on a temporary watch
/// folder and the real digits checkpoints. Each test has its own daemon and cluster, so they
/// run side by side; every wait has a deadline, and the time limit catches anything else.
@Suite(.timeLimit(.minutes(10))) enum ServeEndToEnd {}
