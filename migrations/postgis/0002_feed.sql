-- riskmap schema version 2: what the change feed needs to follow the log exactly.
--
-- A follower reads the log by transaction snapshots, not by seq: seq is taken when a
-- statement runs, so a transaction can commit a lower seq after a higher one has been
-- read. Each read runs in one REPEATABLE READ transaction and takes the rows of the
-- transactions that committed between the previous read's snapshot and this one:
--   xid >= pg_snapshot_xmin(prev) AND NOT pg_visible_in_snapshot(xid, prev)
-- which the index on xid serves.
CREATE INDEX changes_xid_idx ON changes (xid);

-- What pruning removed: xid is the newest pruned transaction, generation counts the
-- prunes that removed rows. A follower that read the log at generation g checks, once
-- the generation has moved on, whether its last snapshot saw every pruned transaction
-- (its xmin above xid); if not, it may have missed pruned rows and reloads everything.
-- Checking only when the generation moved keeps a long transaction elsewhere in the
-- cluster (which holds every snapshot's xmin back) from causing a reload at every read.
CREATE TABLE changes_horizon (
    one        boolean PRIMARY KEY DEFAULT true CONSTRAINT changes_horizon_one_row CHECK (one),
    xid        xid8    NOT NULL,
    generation bigint  NOT NULL
);
INSERT INTO changes_horizon (xid, generation) VALUES ('0', 0);

-- riskmap_prune_changes deletes log rows older than the cutoff, except the latest row of
-- each feature (the version of a re-inserted id continues from it), raises the horizon
-- past the newest pruned transaction and returns the number of rows deleted.
CREATE FUNCTION riskmap_prune_changes(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    top xid8;
BEGIN
    WITH gone AS (
        DELETE FROM changes c
        WHERE c.changed_at < cutoff
          AND EXISTS (SELECT 1 FROM changes l
                      WHERE l.layer = c.layer AND l.feature_id = c.feature_id AND l.seq > c.seq)
        RETURNING c.xid
    )
    SELECT count(*), max(xid) INTO n, top FROM gone;
    IF top IS NOT NULL THEN
        UPDATE changes_horizon SET xid = greatest(xid, top), generation = generation + 1;
    END IF;
    RETURN n;
END $$;
