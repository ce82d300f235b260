-- The samples runs left out of training (quarantined for disagreeing with
-- the deployed model and trusted samples, or set aside after a gate
-- rejection), for review; every later run leaves them out. sample_key is
-- retrain.QuarantineKey of the sample (bytea: it holds NUL separators).
CREATE TABLE quarantine (
    id             bigserial PRIMARY KEY,
    quarantined_at timestamptz NOT NULL,
    retrain_id     text NOT NULL,
    reason         text NOT NULL,
    sample_group   text NOT NULL DEFAULT '',
    sample_key     bytea NOT NULL,
    sample         jsonb NOT NULL
);
CREATE INDEX quarantine_quarantined_at ON quarantine (quarantined_at);
