-- Commit notifications (see shared/db/notifications.ts). NOTIFY is delivered only when the
-- transaction commits, so a listener never hears of a change that was rolled back.
--
-- vexil_outbox: once per statement that inserted outbox rows, payload ''. The relay wakes on it.
-- The transition table keeps statements that inserted nothing (a flag write whose version check
-- failed still runs its insert-from-select) from waking every relay for nothing.
CREATE FUNCTION vexil_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted) THEN
    PERFORM pg_notify('vexil_outbox', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION vexil_notify_outbox();
--> statement-breakpoint
-- vexil_changes: one notice per changed row, for per-instance caches of flags, segments and
-- projects. 'flag:<project id>:<version>:<key>', 'segment:<environment id>:<version>:<key>'
-- (version -1 for a deletion), 'project:<project id>' (the project or one of its environments).
CREATE FUNCTION vexil_notify_flag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vexil_changes', 'flag:' || OLD.project_id || ':-1:' || OLD.key);
  ELSE
    PERFORM pg_notify('vexil_changes', 'flag:' || NEW.project_id || ':' || NEW.version || ':' || NEW.key);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE OR DELETE ON flags
  FOR EACH ROW EXECUTE FUNCTION vexil_notify_flag();
--> statement-breakpoint
CREATE FUNCTION vexil_notify_segment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vexil_changes', 'segment:' || OLD.environment_id || ':-1:' || OLD.key);
  ELSE
    PERFORM pg_notify('vexil_changes', 'segment:' || NEW.environment_id || ':' || NEW.version || ':' || NEW.key);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER segments_notify AFTER INSERT OR UPDATE OR DELETE ON segments
  FOR EACH ROW EXECUTE FUNCTION vexil_notify_segment();
--> statement-breakpoint
CREATE FUNCTION vexil_notify_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'projects' THEN
    PERFORM pg_notify('vexil_changes', 'project:' || OLD.id);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vexil_changes', 'project:' || OLD.project_id);
  ELSE
    PERFORM pg_notify('vexil_changes', 'project:' || NEW.project_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER projects_notify AFTER UPDATE OR DELETE ON projects
  FOR EACH ROW EXECUTE FUNCTION vexil_notify_project();
--> statement-breakpoint
CREATE TRIGGER environments_notify AFTER INSERT OR UPDATE OR DELETE ON environments
  FOR EACH ROW EXECUTE FUNCTION vexil_notify_project();
