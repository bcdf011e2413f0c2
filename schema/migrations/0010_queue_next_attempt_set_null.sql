-- Step 6: deleting a queue job nulls the link from the attempt before it.
ALTER TABLE queue_jobs
    DROP CONSTRAINT queue_jobs_next_attempt_id_fkey;
ALTER TABLE queue_jobs
    ADD CONSTRAINT queue_jobs_next_attempt_id_fkey
    FOREIGN KEY (next_attempt_id) REFERENCES queue_jobs(queue_job_id)
    ON DELETE SET NULL NOT VALID;
