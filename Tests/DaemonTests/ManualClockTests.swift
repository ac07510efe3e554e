import Testing

/// The test clock the watcher tests drive: time moves only when advanced.
@Suite(.timeLimit(.minutes(1))) struct ManualClockTests {
    @Test func standsStillUntilAdvanced() {
        let clock = ManualClock()
        let start = clock.now
        #expect(clock.now == start)
        clock.advance(by: .milliseconds(1500))
        #expect(clock.now == start.advanced(by: .milliseconds(1500)))
    }

    @Test func wakesASleeperOnceItsDeadlineIsReached() async throws {
        let clock = ManualClock()
        let start = clock.now
        let sleeper = Task { try await clock.sleep(until: start.advanced(by: .seconds(2))) }
        clock.advance(by: .seconds(1))
        clock.advance(by: .seconds(1))
        try await sleeper.value
        // A deadline already reached returns at once; a cancelled sleep throws.
        try await clock.sleep(until: start)
        let cancelled = Task { try await clock.sleep(until: start.advanced(by: .seconds(60))) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }
}
