-- riskmap schema version 8: the latest status-history row of a risk point by an
-- index. The hazard list (GET /api/v1/hazards) asks, per risk point, for its newest
-- history row (ORDER BY id DESC LIMIT 1). With only (risk_point_id, changed_at),
-- a planner without fresh statistics — right after a bulk load, before autovacuum
-- analyzes — walked the primary key backwards filtering by risk_point_id: 11 s for
-- the demo's 3,549 open hazards, past the request timeout. With this index it is one
-- index probe per point whatever the statistics.
CREATE INDEX risk_point_status_history_point_id_idx ON risk_point_status_history (risk_point_id, id);
