-- The local learning coefficient (LLC) beside the volume: localized SGLD as devinterp 2.0.1
-- defines it, one estimate per checkpoint, eval data and LLC settings, computed by jobs of their
-- own. The daemon NOTIFYs `volumed_llc` (payload {"checkpoint_id": …, "llc_estimate_id": …})
-- when an estimate commits, in the same transaction.

-- A job is a volume estimate's shard or an LLC estimate (one job, one shard). LLC jobs' settings
-- carry "measure": "llc", which volume settings never do, so their settings keys never collide.
ALTER TABLE jobs
    ADD COLUMN kind text NOT NULL DEFAULT 'volume'
        CONSTRAINT jobs_kind_known CHECK (kind IN ('volume', 'llc'));

CREATE TABLE llc_estimates (
    id                  bigint             GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkpoint_id       bigint             NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    job_id              bigint             REFERENCES jobs (id) ON DELETE SET NULL,
    eval_fingerprint    text               NOT NULL,
    -- What the eval data was, as estimates.eval_data.
    eval_data           jsonb              CHECK (eval_data IS NULL OR jsonb_typeof(eval_data) = 'object'),
    -- SHA-256 of the LLC settings below as the job stored them (nbeta as configured).
    settings_key        text               NOT NULL,
    -- Glob patterns of the weights SGLD moved, sorted, single spaces; '' = every weight.
    parameters          text               NOT NULL DEFAULT ''
        CONSTRAINT llc_estimates_parameters_canonical CHECK (parameters = btrim(parameters) AND parameters !~ '\s\s'),
    epsilon             double precision   NOT NULL CHECK (epsilon > 0),
    gamma               double precision   NOT NULL CHECK (gamma >= 0),
    -- nβ as resolved, and as configured: 'auto' (B / ln B) or the number.
    nbeta               double precision   NOT NULL CHECK (nbeta > 0),
    nbeta_rule          text               NOT NULL,
    chains              integer            NOT NULL CHECK (chains >= 1),
    draws               integer            NOT NULL CHECK (draws >= 1),
    burn_in             integer            NOT NULL CHECK (burn_in >= 0),
    -- The batch size used (at most the eval rows).
    batch_size          integer            NOT NULL CHECK (batch_size >= 1),
    seed                bigint             NOT NULL,
    -- Weights SGLD moved (the subset's count, or all).
    dimension           bigint             NOT NULL CHECK (dimension >= 1),
    -- Mean cross-entropy at w* over the whole eval data.
    init_loss           double precision   NOT NULL,
    -- Mean and sample standard deviation over the chains that did not diverge (NaN if all did).
    llc_mean            double precision   NOT NULL,
    llc_std             double precision   NOT NULL,
    -- Per chain, in chain order: its LLC (NaN when it diverged), whether its draws' trace is
    -- flat, and where it diverged (NULL elements for chains that did not): the step (0-based,
    -- burn-in included), 'non_finite' or 'blow_up', and the loss there.
    llc_per_chain       double precision[] NOT NULL,
    flat_after_burn_in  boolean[]          NOT NULL,
    divergence_step     integer[]          NOT NULL,
    divergence_kind     text[]             NOT NULL,
    divergence_loss     double precision[] NOT NULL,
    diverged_chains     integer            NOT NULL CHECK (diverged_chains >= 0 AND diverged_chains <= chains),
    seconds             double precision   NOT NULL CHECK (seconds >= 0),
    seconds_per_draw    double precision   NOT NULL CHECK (seconds_per_draw >= 0),
    software_version    text               NOT NULL,
    created_at          timestamptz        NOT NULL DEFAULT now(),
    CONSTRAINT llc_estimates_identity UNIQUE (checkpoint_id, eval_fingerprint, settings_key),
    CONSTRAINT llc_estimates_per_chain CHECK (
        cardinality(llc_per_chain) = chains AND cardinality(flat_after_burn_in) = chains
        AND cardinality(divergence_step) = chains AND cardinality(divergence_kind) = chains
        AND cardinality(divergence_loss) = chains)
);
CREATE INDEX llc_estimates_checkpoint_idx ON llc_estimates (checkpoint_id);
CREATE INDEX llc_estimates_created_idx ON llc_estimates (created_at DESC, id DESC);

-- Every chain's mini-batch loss at every step (burn-in first), measured before that step's update.
CREATE TABLE llc_samples (
    llc_estimate_id  bigint           NOT NULL REFERENCES llc_estimates (id) ON DELETE CASCADE,
    chain            integer          NOT NULL CHECK (chain >= 0),
    step             integer          NOT NULL CHECK (step >= 0),
    loss             double precision NOT NULL,
    PRIMARY KEY (llc_estimate_id, chain, step)
);

-- LLC against training step: per run, eval data, parameter subset and step, the newest LLC
-- estimate (of the newest checkpoint version of the step). Subsets are series of their own.
CREATE VIEW llc_by_step AS
SELECT DISTINCT ON (r.id, l.eval_fingerprint, l.parameters, c.step)
       r.name AS run, r.id AS run_id, c.step, c.id AS checkpoint_id, l.id AS llc_estimate_id,
       l.eval_fingerprint, l.eval_data, l.parameters,
       l.llc_mean, l.llc_std, l.chains, l.draws, l.burn_in, l.diverged_chains,
       l.epsilon, l.gamma, l.nbeta, l.nbeta_rule, l.batch_size, l.seed, l.dimension, l.init_loss,
       l.seconds, l.seconds_per_draw, l.created_at
FROM llc_estimates l
JOIN checkpoints c ON c.id = l.checkpoint_id
JOIN runs r ON r.id = c.run_id
ORDER BY r.id, l.eval_fingerprint, l.parameters, c.step, l.created_at DESC, l.id DESC;

-- Volume and LLC side by side: per run, step and eval data, the full-parameter KL volume at
-- each cutoff and preconditioner beside the full-parameter LLC (repeated on each of the step's
-- volume rows). A step with only one measure has a row too, the other's columns NULL.
-- Loss-neighbourhood, subset volumes and subset LLCs stay in volume_by_step and llc_by_step.
CREATE VIEW volume_and_llc AS
WITH volume AS (
    SELECT * FROM volume_by_step WHERE neighbourhood = 'kl' AND parameters = ''
), llc AS (
    SELECT * FROM llc_by_step WHERE parameters = ''
)
SELECT v.run, v.run_id, v.step, v.eval_fingerprint, v.eval_data,
       v.checkpoint_id AS volume_checkpoint_id, v.cutoff, v.preconditioner, v.preconditioner_params,
       v.log10_volume, v.log_volume, v.interval_low, v.interval_high, v.directions,
       l.checkpoint_id AS llc_checkpoint_id, l.llc_estimate_id, l.llc_mean, l.llc_std, l.chains AS llc_chains,
       l.draws AS llc_draws, l.diverged_chains AS llc_diverged_chains, l.nbeta, l.epsilon, l.gamma
FROM volume v
LEFT JOIN llc l ON l.run_id = v.run_id AND l.eval_fingerprint = v.eval_fingerprint
                AND l.step IS NOT DISTINCT FROM v.step
UNION ALL
SELECT l.run, l.run_id, l.step, l.eval_fingerprint, l.eval_data,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       l.checkpoint_id, l.llc_estimate_id, l.llc_mean, l.llc_std, l.chains, l.draws, l.diverged_chains,
       l.nbeta, l.epsilon, l.gamma
FROM llc l
WHERE NOT EXISTS (SELECT 1 FROM volume v WHERE v.run_id = l.run_id AND v.eval_fingerprint = l.eval_fingerprint
                                           AND v.step IS NOT DISTINCT FROM l.step);

-- The queue view gains the job's kind (appended).
CREATE OR REPLACE VIEW job_overview AS
SELECT j.id AS job_id, j.state, j.attempts, j.max_attempts, r.name AS run, c.step,
       c.path AS checkpoint_path, j.settings_key, j.lease_owner, j.lease_expires_at,
       j.error_code, j.last_error, j.skip_reasons, j.created_at, j.updated_at, j.finished_at,
       j.shard, j.shards, j.first_direction, j.direction_count, j.directions_done, j.directions_total,
       j.started_at,
       j.kind
FROM jobs j
JOIN checkpoints c ON c.id = j.checkpoint_id
JOIN runs r ON r.id = c.run_id;
