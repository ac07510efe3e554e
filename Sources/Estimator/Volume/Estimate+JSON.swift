import Base

/// The CLI's `--json` shape (also the database's column names): one object per result.
extension Estimate {
    public func json(includeSamples: Bool) -> JSONValue {
        var o = JSONObject()
        o["cutoff"] = .double(cutoff)
        o["preconditioner"] = .string(preconditioner.name)
        o["preconditioner_params"] = .object(JSONObject(preconditioner.parameters.map { ($0.name, .double($0.value)) }))
        o["prior"] = .string(prior.rawValue)
        o["prior_center"] = .string(priorCenter.rawValue)
        o["sigma"] = .double(sigma)
        o["sigma_rule"] = .string(sigmaRule.description)
        o["directions"] = .int(directions)
        o["seed"] = .number(String(seed))
        o["tolerance"] = .double(tolerance)
        o["log_volume"] = aggregate.logVolume.map(JSONValue.double) ?? .null
        o["log10_volume"] = aggregate.log10Volume.map(JSONValue.double) ?? .null
        o["bits"] = aggregate.bits.map(JSONValue.double) ?? .null
        o["max_sample"] = .double(aggregate.maxSample)
        o["ess"] = aggregate.ess.map(JSONValue.double) ?? .null
        o["interval"] = aggregate.interval.map { .array([.double($0.low), .double($0.high)]) } ?? .null
        o["kl_evaluations"] = .int(klEvaluations)
        o["unbounded"] = .int(unbounded)
        o["nonfinite"] = .int(nonfinite)
        o["seconds"] = .double(seconds)
        o["seconds_preconditioner"] = .double(secondsPreconditioner)
        o["preconditioner_rse"] = preconditionerRelativeStandardError.map(JSONValue.double) ?? .null
        if includeSamples {
            o["samples"] = .array(samples.map { s in
                .object(JSONObject([
                    ("direction", .int(s.direction)),
                    ("radius", .double(s.radius)),  // null: unbounded
                    ("log_estimate", .double(s.logEstimate)),
                    ("kl_evaluations", .int(s.klEvaluations)),
                ]))
            })
        }
        return .object(o)
    }
}

extension PreconditionerOutcome {
    public func json(includeSamples: Bool) -> [JSONValue] {
        switch self {
        case .estimated(let estimates):
            return estimates.map { $0.json(includeSamples: includeSamples) }
        case .skipped(let spec, let reason):
            return [.object(JSONObject([("preconditioner", .string(spec.name)), ("skipped", .string(reason))]))]
        }
    }
}
