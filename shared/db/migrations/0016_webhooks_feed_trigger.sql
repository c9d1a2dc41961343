-- The webhooks feed (services/webhooks/storage/schema.ts): every audit entry committed while a
-- webhook is on gets a webhook_feed row in its own transaction, so the feed holds exactly the
-- committed changes, none lost and none that rolled back. Rows are numbered when the statement that
-- wrote the entries ends, after it holds its row locks: a later change of one resource gets a higher
-- number than the one it waited for. NOTIFY vexil_webhooks wakes the webhooks instances at commit.
CREATE FUNCTION vexil_feed_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted) AND EXISTS (SELECT 1 FROM webhooks WHERE "on") THEN
    INSERT INTO webhook_feed (audit_id) SELECT id FROM inserted ORDER BY date, id;
    PERFORM pg_notify('vexil_webhooks', '');
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_feed_webhooks AFTER INSERT ON audit_log REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION vexil_feed_webhooks();
