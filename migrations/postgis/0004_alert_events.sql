-- riskmap schema version 4: alerts and signals notify every process, so that each
-- `serve` process pushes them on its event stream whichever process stored them.
-- Payload "<type>:<id>": alert (a new alert), alert_ack (acknowledged), signal.
-- Notifications are delivered at commit; a listener that reconnects catches up on
-- new rows by id.
CREATE FUNCTION riskmap_notify_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('riskmap_events',
        CASE WHEN TG_TABLE_NAME = 'signals' THEN 'signal'
             WHEN TG_OP = 'INSERT' THEN 'alert'
             ELSE 'alert_ack' END || ':' || NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER alerts_notify AFTER INSERT OR UPDATE OF acked_at ON alerts
    FOR EACH ROW EXECUTE FUNCTION riskmap_notify_event();
CREATE TRIGGER signals_notify AFTER INSERT ON signals
    FOR EACH ROW EXECUTE FUNCTION riskmap_notify_event();
