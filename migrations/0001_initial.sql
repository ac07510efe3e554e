-- volumed schema, version 1. Table, view and column names are the public SQL interface;
-- estimate columns carry the same names as the fields of `volumed estimate --json`.

-- A training run: one folder under the watched root.
CREATE TABLE runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    path        text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_name_idx ON runs (name);

-- A checkpoint is (run, step, content fingerprint): files that change make a new row.
-- n_params and architecture are filled in once the checkpoint has been read.
CREATE TABLE checkpoints (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step          bigint,
    path          text        NOT NULL,
    fingerprint   text        NOT NULL,
    n_params      bigint      CHECK (n_params >= 0),
    architecture  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checkpoints_identity UNIQUE NULLS NOT DISTINCT (run_id, step, fingerprint)
);
CREATE INDEX checkpoints_run_step_idx ON checkpoints (run_id, step);

-- The durable work queue: one job computes the estimates a checkpoint is missing under one
-- set of settings (settings_key identifies them; settings is what the daemon needs to run).
CREATE TABLE jobs (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkpoint_id     bigint      NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    settings          jsonb       NOT NULL,
    settings_key      text        NOT NULL,
    state             text        NOT NULL DEFAULT 'queued'
                                  CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    -- The worker holding (running) or last holding the lease; expiry is set only while running.
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_error        text,
    error_code        text,
    -- {"<preconditioner>": "<reason>"} for preconditioners the job skipped.
    skip_reasons      jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CONSTRAINT jobs_identity UNIQUE (checkpoint_id, settings_key),
    CONSTRAINT jobs_running_has_lease
        CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- Claiming scans active jobs in id order.
CREATE INDEX jobs_active_idx ON jobs (id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_state_updated_idx ON jobs (state, updated_at DESC);

-- One estimate of a checkpoint's local volume under one combination of settings, or the
-- record that a preconditioner was skipped (skipped = the reason, results NULL).
CREATE TABLE estimates (
    id                      bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checkpoint_id           bigint           NOT NULL REFERENCES checkpoints (id) ON DELETE CASCADE,
    job_id                  bigint           REFERENCES jobs (id) ON DELETE SET NULL,
    eval_fingerprint        text             NOT NULL,
    cutoff                  double precision NOT NULL CHECK (cutoff > 0),
    preconditioner          text             NOT NULL,
    -- Canonical "key=value,…" (e.g. 'eps=0.001,exponent=0.5'); '' when there are none.
    preconditioner_params   text             NOT NULL DEFAULT '',
    prior                   text             NOT NULL,
    prior_center            text             NOT NULL,
    -- 'rms' or the number as configured; sigma is the value it resolved to.
    sigma_rule              text             NOT NULL,
    sigma                   double precision,
    directions              integer          NOT NULL CHECK (directions > 0),
    seed                    bigint           NOT NULL,
    tolerance               double precision NOT NULL CHECK (tolerance > 0),
    -- Natural log of the volume; NULL (with log10_volume, bits, ess and the interval) when
    -- the volume is infinite: uniform measure with unbounded directions.
    log_volume              double precision,
    log10_volume            double precision,
    bits                    double precision,
    max_sample              double precision,
    ess                     double precision,
    -- 95% bootstrap interval of log_volume (nats).
    interval_low            double precision,
    interval_high           double precision,
    kl_evaluations          bigint,
    unbounded               integer,
    nonfinite               integer,
    seconds                 double precision,
    seconds_preconditioner  double precision,
    software_version        text             NOT NULL,
    skipped                 text             CHECK (skipped <> ''),
    created_at              timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT estimates_identity UNIQUE (
        checkpoint_id, cutoff, preconditioner, preconditioner_params, eval_fingerprint,
        prior, prior_center, sigma_rule, directions, seed, tolerance
    ),
    -- Exactly one of: computed (the counts and timings present) or skipped (all results NULL).
    CONSTRAINT estimates_computed_or_skipped CHECK (
        (skipped IS NULL AND max_sample IS NOT NULL AND kl_evaluations IS NOT NULL
             AND unbounded IS NOT NULL AND nonfinite IS NOT NULL AND seconds IS NOT NULL)
        OR
        (skipped IS NOT NULL AND log_volume IS NULL AND log10_volume IS NULL AND bits IS NULL
             AND max_sample IS NULL AND ess IS NULL AND interval_low IS NULL
             AND interval_high IS NULL AND kl_evaluations IS NULL AND unbounded IS NULL
             AND nonfinite IS NULL AND seconds IS NULL AND seconds_preconditioner IS NULL)
    ),
    -- A missing log-volume means an infinite volume, which needs unbounded directions.
    CONSTRAINT estimates_infinite_needs_unbounded
        CHECK (skipped IS NOT NULL OR log_volume IS NOT NULL OR unbounded > 0),
    CONSTRAINT estimates_log_scales_agree
        CHECK ((log_volume IS NULL) = (log10_volume IS NULL) AND (log_volume IS NULL) = (bits IS NULL))
);
CREATE INDEX estimates_created_idx ON estimates (created_at DESC, id DESC);
CREATE INDEX estimates_job_idx ON estimates (job_id);

-- Every direction's sample of an estimate. radius is 'Infinity' for an unbounded direction.
CREATE TABLE estimate_samples (
    estimate_id     bigint           NOT NULL REFERENCES estimates (id) ON DELETE CASCADE,
    direction       integer          NOT NULL CHECK (direction >= 0),
    radius          double precision NOT NULL,
    log_estimate    double precision NOT NULL,
    kl_evaluations  integer          NOT NULL,
    PRIMARY KEY (estimate_id, direction)
);

-- The newest computed estimate per checkpoint, cutoff and preconditioner (with its
-- parameters), with its run and checkpoint.
CREATE VIEW latest_estimates AS
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
       e.seconds, e.seconds_preconditioner, e.software_version, e.created_at
FROM estimates e
JOIN checkpoints c ON c.id = e.checkpoint_id
JOIN runs r ON r.id = c.run_id
WHERE e.skipped IS NULL
ORDER BY e.checkpoint_id, e.cutoff, e.preconditioner, e.preconditioner_params,
         e.created_at DESC, e.id DESC;

-- Volume against training step: one row per run, step, cutoff and preconditioner (the
-- newest checkpoint version of a step), ready for plotting or lag().
CREATE VIEW volume_by_step AS
SELECT DISTINCT ON (run_id, step, cutoff, preconditioner, preconditioner_params)
       run, run_id, step, checkpoint_id, cutoff, preconditioner, preconditioner_params,
       log10_volume, log_volume, bits, interval_low, interval_high, ess, unbounded,
       directions, seed, created_at
FROM latest_estimates
ORDER BY run_id, step, cutoff, preconditioner, preconditioner_params, created_at DESC,
         checkpoint_id DESC;

-- Per run, cutoff and preconditioner: first and last step and how the volume changed
-- ("which run lost the most volume").
CREATE VIEW run_volume_change AS
SELECT run, run_id, cutoff, preconditioner, preconditioner_params,
       count(*)                                                   AS checkpoints,
       min(step)                                                  AS first_step,
       max(step)                                                  AS last_step,
       (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1]  AS first_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]  AS final_log10_volume,
       (array_agg(log10_volume ORDER BY step DESC NULLS LAST))[1]
           - (array_agg(log10_volume ORDER BY step ASC NULLS FIRST))[1] AS change_log10_volume
FROM volume_by_step
GROUP BY run, run_id, cutoff, preconditioner, preconditioner_params;

-- Jobs with their run and checkpoint, for following the queue from psql.
CREATE VIEW job_overview AS
SELECT j.id AS job_id, j.state, j.attempts, j.max_attempts, r.name AS run, c.step,
       c.path AS checkpoint_path, j.settings_key, j.lease_owner, j.lease_expires_at,
       j.error_code, j.last_error, j.skip_reasons, j.created_at, j.updated_at, j.finished_at
FROM jobs j
JOIN checkpoints c ON c.id = j.checkpoint_id
JOIN runs r ON r.id = c.run_id;
