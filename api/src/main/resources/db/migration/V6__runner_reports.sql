-- Runner events carry a sequence number per job (continuing across attempts) so a resent report is stored once;
-- NULL for the control plane's own events. The heartbeat is the last time the job's runner was heard from.
ALTER TABLE job_events ADD COLUMN seq BIGINT;
CREATE UNIQUE INDEX job_events_job_seq ON job_events (job_id, seq);
ALTER TABLE fine_tuning_jobs ADD COLUMN heartbeat_at TIMESTAMP WITH TIME ZONE;
