-- Loss neighbourhoods and parameter-subset estimates. An estimate's neighbourhood is what its
-- cutoff bounds ('kl': the mean KL to the anchor, the paper's; 'loss': the increase of the mean
-- cross-entropy, floored at 0), and its parameters are the glob patterns of the weights its
-- directions move (sorted, separated by single spaces; '' = every parameter). Both are part of
-- the estimate's identity, and every view keeps them in series of their own: a loss-neighbourhood
-- or one-layer estimate never replaces the full KL point. Rows from before are 'kl' and ''.
ALTER TABLE estimates
    ADD COLUMN neighbourhood text NOT NULL DEFAULT 'kl'
        CONSTRAINT estimates_neighbourhood_known CHECK (neighbourhood IN ('kl', 'loss')),
    ADD COLUMN parameters    text NOT NULL DEFAULT ''
        CONSTRAINT estimates_parameters_canonical CHECK (parameters = btrim(parameters) AND parameters !~ '\s\s');

ALTER TABLE estimates DROP CONSTRAINT estimates_identity;
ALTER TABLE estimates ADD CONSTRAINT estimates_identity UNIQUE (
    checkpoint_id, cutoff, preconditioner, preconditioner_params, eval_fingerprint,
    prior, prior_center, sigma_rule, directions, seed, tolerance, neighbourhood, parameters
);

-- The same views, the new columns appended and in every DISTINCT ON / GROUP BY.
CREATE OR REPLACE VIEW latest_estimates AS
SELECT DISTINCT ON (e.checkpoint_id, e.eval_fingerprint, e.neighbourhood, e.parameters, e.cutoff,
                    e.preconditioner, e.preconditioner_params)
       r.id   AS run_id,
       r.name AS run,
       r.path AS run_path,
       c.id   AS checkpoint_id,
       c.step,
       c.path AS checkpoint_path,
       c.fingerprint,
       c.n_params,
       c.architecture,
       e.id   AS estimate_id,
       e.eval_fingerprint, e.cutoff, e.preconditioner, e.preconditioner_params,
       e.prior, e.prior_center, e.sigma_rule, e.sigma, e.directions, e.seed, e.tolerance,
       e.log_volume, e.log10_volume, e.bits, e.max_sample, e.ess,
       e.interval_low, e.interval_high, e.kl_evaluations, e.unbounded, e.nonfinite,
       e.seconds, e.seconds_preconditioner, e.software_version, e.created_at,
       e.preconditioner_rse,
       e.eval_data,
       e.neighbourhood, e.parameters
FROM estimates e
JOIN checkpoints c ON c.id = e.checkpoint_id
JOIN runs r ON r.id = c.run_id
WHERE e.skipped IS NULL
ORDER BY e.checkpoint_id, e.eval_fingerprint, e.neighbourhood, e.parameters, e.cutoff,
         e.preconditioner, e.preconditioner_params, e.created_at DESC, e.id DESC;

CREATE OR REPLACE VIEW volume_by_step AS
SELECT DISTINCT ON (run_id, eval_fingerprint, neighbourhood, parameters, step, cutoff, preconditioner,
                    preconditioner_params)
       run, run_id, step, checkpoint_id, cutoff, preconditioner, preconditioner_params,
       log10_volume, log_volume, bits, interval_low, interval_high, ess, unbounded,
       directions, seed, created_at,
       eval_fingerprint, eval_data,
       neighbourhood, parameters
FROM latest_estimates
ORDER BY run_id, eval_fingerprint, neighbourhood, parameters, step, cutoff, preconditioner,
         preconditioner_params, created_at DESC, checkpoint_id DESC;

CREATE OR REPLACE VIEW run_volume_change AS
SELECT run, run_id, cutoff, preconditioner, preconditioner_params,
       count(*)                                                   AS checkpoints,
       min(step)                                                  AS first_step,
       max(step)                                                  AS last_step,
       (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1]  AS first_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]  AS final_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]
           - (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1] AS change_log10_volume,
       eval_fingerprint,
       neighbourhood, parameters
FROM volume_by_step
GROUP BY run, run_id, cutoff, preconditioner, preconditioner_params, eval_fingerprint, neighbourhood, parameters;
