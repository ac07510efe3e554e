-- What the scheduler resolved for a job's checkpoint and stored beside its settings: the
-- checkpoint's content files, the run's volume.toml as applied (model and [estimate]) and the
-- eval file, so the worker estimates exactly what was fingerprinted and keyed, and checks that
-- the files still match. Not part of the job's identity (settings_key hashes only settings).
-- NULL for jobs enqueued before this column existed: their worker resolves the run again.
ALTER TABLE jobs ADD COLUMN plan jsonb;
