ALTER TABLE queue_jobs
    VALIDATE CONSTRAINT queue_jobs_next_attempt_id_fkey;
