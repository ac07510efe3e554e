import Foundation
import DB
import Estimator
import Testing
@testable import Daemon

@Suite struct ProgressFormatTests {
    @Test func durationsReadAsSecondsMinutesOrHours() {
        #expect(ProgressFormat.duration(0) == "0s")
        #expect(ProgressFormat.duration(42.4) == "42s")
        #expect(ProgressFormat.duration(312) == "5m12s")
        #expect(ProgressFormat.duration(3600 + 5 * 60 + 29) == "1h05m")
        #expect(ProgressFormat.duration(-3) == "0s")
    }

    @Test func theEstimateLineShowsDirectionsEvaluationsElapsedAndETA() {
        let line = ProgressFormat.estimateLine(
            preconditioner: "adam:eps=0.001,exponent=0.5",
            progress: EstimateProgress(directionsDone: 25, directions: 100, klEvaluations: 61), elapsed: 60)
        #expect(line == "adam:eps=0.001,exponent=0.5: 25/100 directions, 61 KL evaluations, 1m00s, ETA 3m00s")
    }

    @Test func noETABeforeTheFirstDirection() {
        let line = ProgressFormat.estimateLine(
            preconditioner: "none", progress: EstimateProgress(directionsDone: 0, directions: 10, klEvaluations: 0), elapsed: 2)
        #expect(line == "none: 0/10 directions, 0 KL evaluations, 2s")
        #expect(ProgressFormat.remaining(elapsed: 5, done: 0, total: 10) == nil)
        #expect(ProgressFormat.remaining(elapsed: 5, done: 10, total: 10) == 0)
    }

    private func running(step: Int64?, done: Int, total: Int?, elapsed: Double) -> RunningEstimate {
        let now = Date(timeIntervalSince1970: 1_000_000)
        return RunningEstimate(checkpointID: 1, run: "run-a", step: step, checkpointPath: "/watch/run-a/model.safetensors",
                               directions: 1000, shards: 20, shardsDone: 3, shardsRunning: 2, shardsQueued: 15, shardsFailed: 0,
                               directionsDone: done, directionsTotal: total, startedAt: now.addingTimeInterval(-elapsed), now: now)
    }

    @Test func statusShowsAnEstimatesDirectionsShardsAndETA() {
        #expect(ProgressFormat.statusLine(running(step: 60, done: 400, total: 2000, elapsed: 300))
                == "run-a step 60: 400/2000 directions (k = 1000), shards 3/20 done, 2 running, elapsed 5m00s, ETA 20m00s")
        #expect(ProgressFormat.statusLine(running(step: nil, done: 0, total: nil, elapsed: 4))
                == "run-a/model.safetensors: 0/? directions (k = 1000), shards 3/20 done, 2 running, elapsed 4s")
    }

    @Test func statusEqualsLineSaysItInShort() {
        #expect(ProgressFormat.statusShort([]) == nil)
        #expect(ProgressFormat.statusShort([running(step: 60, done: 400, total: 2000, elapsed: 300)])
                == "run-a step 60 400/2000 ETA 20m00s")
        #expect(ProgressFormat.statusShort([running(step: 60, done: 400, total: 2000, elapsed: 300),
                                            running(step: 70, done: 0, total: nil, elapsed: 0)])
                == "run-a step 60 400/2000 ETA 20m00s (+1 more)")
    }
}
