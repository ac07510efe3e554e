import Base
import Estimator
import Foundation

/// How `volumed llc` prints an estimate.
enum LLCReport {
    static func json(_ estimation: CheckpointEstimation, _ e: LLCEstimate, includeTraces: Bool) -> JSONValue {
        let s = e.settings
        var o = EstimateReport.checkpointFields(estimation)
        var settings = JSONObject()
        settings["epsilon"] = .double(s.epsilon)
        settings["gamma"] = .double(s.gamma)
        settings["nbeta"] = .double(e.nbeta)
        settings["nbeta_default"] = .bool(s.nbeta == nil)
        settings["chains"] = .int(s.chains)
        settings["draws"] = .int(s.draws)
        settings["burn_in"] = .int(s.burnIn)
        settings["batch_size"] = .int(e.batchSize)
        settings["seed"] = .number(String(s.seed))
        settings["parameters"] = .array(s.parameters.map(JSONValue.string))
        o["settings"] = .object(settings)
        o["dimension"] = .int(e.dimension)
        o["init_loss"] = .double(e.initLoss)
        o["llc_mean"] = .double(e.mean)
        o["llc_sd"] = .double(e.standardDeviation)
        o["chains"] = .array(e.chains.map { chain in
            var c = JSONObject()
            c["llc"] = .double(chain.llc)
            c["mean_loss"] = .double(meanDrawLoss(chain, burnIn: s.burnIn))
            c["flat_after_burn_in"] = .bool(chain.flatAfterBurnIn)
            c["divergence"] = chain.divergence.map { d in
                var v = JSONObject()
                v["step"] = .int(d.step)
                v["kind"] = .string(d.kind.rawValue)
                v["loss"] = .double(d.loss)
                return .object(v)
            } ?? .null
            if includeTraces { c["losses"] = .array(chain.losses.map(JSONValue.double)) }
            return .object(c)
        })
        o["seconds"] = .double(e.seconds)
        o["seconds_per_draw"] = .double(e.secondsPerDraw)
        return .object(o)
    }

    static func table(_ estimation: CheckpointEstimation, _ e: LLCEstimate) -> String {
        let s = e.settings
        var lines: [String] = []
        let step = estimation.folder.step.map { ", step \($0)" } ?? ""
        lines.append("checkpoint  \(estimation.folder.path)  (\(estimation.model.architecture), \(estimation.model.layout.count) parameters\(step))")
        lines.append("eval data   \(estimation.eval.path)")
        let nbeta = "nβ = \(format(e.nbeta, 3))" + (s.nbeta == nil ? " (B / ln B)" : "")
        lines.append("SGLD        ε = \(format(s.epsilon, 4)), γ = \(format(s.gamma, 2)), \(nbeta), B = \(e.batchSize), \(s.chains) chains × \(s.draws) draws, burn-in \(s.burnIn), seed \(s.seed)")
        let moved = s.parameters.isEmpty ? "all" : s.parameters.joined(separator: " ")
        lines.append("moved       D = \(e.dimension) (\(moved))")
        lines.append("L(w*)       \(format(e.initLoss, 5)) (mean cross-entropy over the eval data)")
        lines.append("")
        let header = ["chain", "LLC", "mean loss", "flat", "divergence"]
        var rows: [[String]] = []
        for (i, chain) in e.chains.enumerated() {
            let divergence = chain.divergence.map { "\($0.kind.rawValue) at step \($0.step) (loss \(format($0.loss, 3)))" } ?? "—"
            rows.append([String(i), format(chain.llc, 3), format(meanDrawLoss(chain, burnIn: s.burnIn), 5),
                         chain.flatAfterBurnIn ? "yes" : "no", divergence])
        }
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
        for row in [header] + rows {
            lines.append(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        lines.append("")
        lines.append("LLC         \(format(e.mean, 3)) ± \(format(e.standardDeviation, 3)) (mean ± sd over \(e.chains.filter { $0.llc.isFinite }.count) chains)")
        lines.append("time        \(format(e.seconds, 2)) s, \(format(e.secondsPerDraw * 1000, 3)) ms per draw")
        return lines.joined(separator: "\n")
    }

    /// The mean mini-batch loss over a chain's draws (NaN for a chain that diverged).
    static func meanDrawLoss(_ chain: LLCChain, burnIn: Int) -> Double {
        guard chain.divergence == nil else { return .nan }
        let draws = chain.losses.dropFirst(burnIn)
        return draws.isEmpty ? .nan : draws.reduce(0, +) / Double(draws.count)
    }
}
