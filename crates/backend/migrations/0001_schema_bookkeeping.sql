-- The first migration. The schema itself (`backend`) is created by the
-- service before the migrator runs, so the bookkeeping table lands inside it.
-- Domain tables arrive in their own sequence-numbered, additive files.
COMMENT ON SCHEMA backend IS 'Owned by galaxy-backend; managed by embedded migrations.';
