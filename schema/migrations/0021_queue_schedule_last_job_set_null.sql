-- Step 13: deleting a queue job nulls the schedule's memory of it.
ALTER TABLE queue_schedules
    DROP CONSTRAINT queue_schedules_last_scheduled_job_id_fkey;
ALTER TABLE queue_schedules
    ADD CONSTRAINT queue_schedules_last_scheduled_job_id_fkey
    FOREIGN KEY (last_scheduled_job_id) REFERENCES queue_jobs(queue_job_id)
    ON DELETE SET NULL NOT VALID;
