-- vexil_changes gains 'flags:<project id>': the project's live flags may be others (a flag was
-- created, deleted, archived or restored), sent besides the flag's own notice. A cache holding the
-- project's list of live keys keeps it through every other change. Identical notices of one
-- transaction arrive once, so a statement that creates many flags sends it once.
CREATE OR REPLACE FUNCTION vexil_notify_flag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vexil_changes', 'flag:' || OLD.project_id || ':-1:' || OLD.key);
    PERFORM pg_notify('vexil_changes', 'flags:' || OLD.project_id);
  ELSE
    PERFORM pg_notify('vexil_changes', 'flag:' || NEW.project_id || ':' || NEW.version || ':' || NEW.key);
    IF TG_OP = 'INSERT'
      OR coalesce((OLD.doc->>'archived')::boolean, false) <> coalesce((NEW.doc->>'archived')::boolean, false) THEN
      PERFORM pg_notify('vexil_changes', 'flags:' || NEW.project_id);
    END IF;
  END IF;
  RETURN NULL;
END $$;
