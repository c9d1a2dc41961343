-- An audit entry's representations (kilobytes, written with every change) are compressed with lz4
-- rather than pglz: several times cheaper to compress for Postgres, for a little more space. A
-- server built without lz4 (and PGlite) keeps pglz.
DO $$
BEGIN
  ALTER TABLE "audit_log" ALTER COLUMN "current" SET COMPRESSION lz4, ALTER COLUMN "previous" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  NULL;
END $$;
