-- The relative standard error of a Monte-Carlo preconditioner (the Fisher diagonal of a
-- language model, from labels sampled off the anchor's own predictions): how noisy the
-- curvature behind an estimate was. NULL for exact preconditioners and skipped estimates.
ALTER TABLE estimates ADD COLUMN preconditioner_rse double precision
    CONSTRAINT estimates_preconditioner_rse_valid
        CHECK (preconditioner_rse IS NULL OR (preconditioner_rse >= 0 AND skipped IS NULL));

-- Same view, the new column appended (CREATE OR REPLACE VIEW may only add columns at the end).
CREATE OR REPLACE VIEW latest_estimates AS
SELECT DISTINCT ON (e.checkpoint_id, e.cutoff, e.preconditioner, e.preconditioner_params)
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
       e.preconditioner_rse
FROM estimates e
JOIN checkpoints c ON c.id = e.checkpoint_id
JOIN runs r ON r.id = c.run_id
WHERE e.skipped IS NULL
ORDER BY e.checkpoint_id, e.cutoff, e.preconditioner, e.preconditioner_params,
         e.created_at DESC, e.id DESC;
