ALTER TABLE queue_schedules
    VALIDATE CONSTRAINT queue_schedules_last_scheduled_job_id_fkey;
