-- The console's live feed (shared/live.ts): every committed audit entry of a flag, segment,
-- project or environment sends NOTIFY vexil_live '<id>:<kind>:<version>:<spec>' at commit (version
-- -1 when the entry has none). The flags instances hear it and put it on the bus for the gateways;
-- a change that rolls back sends nothing.
CREATE FUNCTION vexil_notify_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  entry record;
BEGIN
  FOR entry IN SELECT id, kind, current_version, spec FROM inserted
      WHERE kind IN ('flag', 'segment', 'project', 'environment') ORDER BY date, id LOOP
    PERFORM pg_notify('vexil_live', entry.id || ':' || entry.kind || ':' || coalesce(entry.current_version, -1) || ':' || entry.spec);
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_notify_live AFTER INSERT ON audit_log REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION vexil_notify_live();
