-- vexil_schedule (see shared/db/notifications.ts): once per statement that leaves scheduled items
-- pending and unclaimed (made, moved to another time, or released by a scheduler), payload the
-- earliest due time among them (epoch ms). Every flags instance's scheduler wakes on it if that is
-- earlier than its next look. A scheduler's claim (it sets lease_token), a failure (status
-- 'failed') and an execution (a delete) send nothing. Delivered at commit, so never for an item
-- that was rolled back. Transition tables take one event per trigger: one trigger for inserts
-- (including the insert part of an upsert), one for updates.
CREATE FUNCTION vexil_notify_schedule() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  due bigint;
BEGIN
  SELECT min(due_at) INTO due FROM changed WHERE status = 'pending' AND lease_token IS NULL;
  IF due IS NOT NULL THEN
    PERFORM pg_notify('vexil_schedule', due::text);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER scheduled_items_insert_notify AFTER INSERT ON scheduled_items REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION vexil_notify_schedule();
--> statement-breakpoint
CREATE TRIGGER scheduled_items_update_notify AFTER UPDATE ON scheduled_items REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION vexil_notify_schedule();
