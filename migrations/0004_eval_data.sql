-- What each estimate's eval data was: {"form": "tensors"|"text"|"tokens", "file", "fingerprint",
-- "rows", "row_length"} and, for text and token files, "tokenizer", "eos", "sequence_length",
-- "sequences", "documents". NULL for estimates stored before this column existed (their eval
-- data was a safetensors file, identified by eval_fingerprint).
ALTER TABLE estimates ADD COLUMN eval_data jsonb
    CONSTRAINT estimates_eval_data_object CHECK (eval_data IS NULL OR jsonb_typeof(eval_data) = 'object');

-- The views keep series apart by eval data: the same checkpoint measured on two data sets is
-- two series, never one. Each view keeps its columns and appends the new ones at the end.
CREATE OR REPLACE VIEW latest_estimates AS
SELECT DISTINCT ON (e.checkpoint_id, e.eval_fingerprint, e.cutoff, e.preconditioner, e.preconditioner_params)
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
       e.eval_data
FROM estimates e
JOIN checkpoints c ON c.id = e.checkpoint_id
JOIN runs r ON r.id = c.run_id
WHERE e.skipped IS NULL
ORDER BY e.checkpoint_id, e.eval_fingerprint, e.cutoff, e.preconditioner, e.preconditioner_params,
         e.created_at DESC, e.id DESC;

CREATE OR REPLACE VIEW volume_by_step AS
SELECT DISTINCT ON (run_id, eval_fingerprint, step, cutoff, preconditioner, preconditioner_params)
       run, run_id, step, checkpoint_id, cutoff, preconditioner, preconditioner_params,
       log10_volume, log_volume, bits, interval_low, interval_high, ess, unbounded,
       directions, seed, created_at,
       eval_fingerprint, eval_data
FROM latest_estimates
ORDER BY run_id, eval_fingerprint, step, cutoff, preconditioner, preconditioner_params, created_at DESC,
         checkpoint_id DESC;

CREATE OR REPLACE VIEW run_volume_change AS
SELECT run, run_id, cutoff, preconditioner, preconditioner_params,
       count(*)                                                   AS checkpoints,
       min(step)                                                  AS first_step,
       max(step)                                                  AS last_step,
       (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1]  AS first_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]  AS final_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]
           - (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1] AS change_log10_volume,
       eval_fingerprint
FROM volume_by_step
GROUP BY run, run_id, cutoff, preconditioner, preconditioner_params, eval_fingerprint;
