-- Checkpoint evals and fallback with learning. Portable between H2 and PostgreSQL; JSON is kept as text.

-- The best checkpoint of a job for a task with a held-out file: its step, adapter, metric and score.
ALTER TABLE fine_tuning_jobs ADD COLUMN best_checkpoint VARCHAR(4000);

-- The adapter a checkpoint was registered as to be evaluated (OpenAI's fine_tuned_model_checkpoint).
ALTER TABLE job_checkpoints ADD COLUMN fine_tuned_model_checkpoint VARCHAR(300);

-- When a task escalates to its upstream: {"on_schema_failure": bool, "min_mean_logprob": number|null}.
ALTER TABLE tasks ADD COLUMN fallback VARCHAR(1000);

-- Why the task escalated a call to its upstream (schema_failure, low_logprob); null for every other call.
ALTER TABLE captured_calls ADD COLUMN escalation_reason VARCHAR(64);
