-- The key lifecycle: admin keys (the admin API and metrics), when a key was revoked and last used, and which
-- keys the chart's keys file declares (so that one removed from the file can be revoked).
-- Portable between H2 and PostgreSQL: plain types only.
ALTER TABLE api_keys ADD COLUMN admin BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE api_keys ADD COLUMN declared BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE api_keys ADD COLUMN revoked_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX api_keys_project ON api_keys (project_id, created_at);
