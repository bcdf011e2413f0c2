-- Step 17, first part: the pg_trgm extension, which MAS's trigram search
-- indexes (0032) need. It comes first and alone, so that a role that may
-- not create extensions stops here, before anything else of step 17 is
-- applied; the migrator then names the statement a superuser must run
-- (schema.ExtensionError). A database where it already exists skips it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
