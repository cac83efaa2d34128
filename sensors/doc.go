// Package sensors evaluates sensor readings into warning levels: for every
// monitored object (a slope or a waterlogging spot) its current value, trend and
// warning level, a no-data state for silent sensors, and an alert on every level
// change. It is pure: no I/O, no database, no HTTP, no clock — time comes in with
// the readings and with Tick(now), so the same inputs always give the same
// outputs.
//
// The warning level is the dynamic axis of the data model (none, blue IV,
// yellow III, orange II, red I; layers.Registry.WarningLevels); it never touches
// the static risk grade.
//
// # Levels and thresholds
//
// A sensor's thresholds (feature.Thresholds, in its kind's unit) give the raw
// level of a value: the highest level whose threshold the value reaches
// (value ≥ threshold); below Blue it is None. Values are compared signed, as the
// thresholds are documented: a sensor whose danger lies in both directions (a
// tilt meter) must report a magnitude. A sensor without thresholds is
// record-only: it has a value and a trend but no level, and raises no alerts.
//
// Rising takes effect at once: a reading whose raw level is above the current
// level sets it, skipping levels — a red reading on a calm sensor is one alert,
// none → red.
//
// Clearing has hysteresis, so that a value hovering at a threshold does not flap:
// level k is left only when every reading for at least ClearHold (default
// 10 min) has been below k's clear point, threshold_k − margin_k. The margin is
// ClearMargin × |threshold_k| (default 5 %), or for a kind listed in
// ClearMarginByKind an absolute margin in its unit (default: water_level_m 5 cm,
// because a reservoir's level is counted from an arbitrary datum). The hold is
// measured in reading time: the level drops at the first reading at least
// ClearHold after the first of the run of readings below, and only as far down as
// the readings allow: a level k is passed when the readings have been below its
// clear point for ClearHold, so values far below may skip levels (red → none in
// one alert). A reading at or above the clear point restarts that level's hold.
// Without readings nothing clears; a silent sensor becomes NoData instead (below).
//
// # Trend
//
// The trend is a least-squares line through the sensor's readings of the last
// TrendWindow (default 30 min) before its latest reading: rising when its change
// over the window exceeds the kind's TrendEpsilon (e.g. 2 cm for water depth),
// falling below −TrendEpsilon, else steady; unknown ("") with fewer than 3
// readings in the window or when they span less than a quarter of it, and while
// the sensor is silent. Late readings within the window count (see below).
//
// # Reporting interval and no data
//
// A sensor's reporting interval is the median of the spacings of its latest
// IntervalSamples+1 readings (default 10 spacings, at least 3 needed; never less
// than MinInterval, 10 s); before that its kind's DefaultInterval (5 min, 10 min
// for displacement and tilt). Tick(now) makes a sensor Silent when now − its
// latest reading exceeds SilentMultiple (default 3) × its interval. A sensor never
// heard from is Pending — counted as calm, as the layer's warning_level column
// defaults to none — until it has been watched (from the first Tick after it was
// set) for SilentMultiple × DefaultInterval; then it is Silent too. Falling
// silent is an alert (From the sensor's level, To NoData, ReasonNoData). The
// next reading recovers it (From NoData, ReasonRecovered) with the level its
// value gives from the level it had: a level is not forgotten by an outage, and
// its hold restarts with fresh readings. A reading that arrives but is itself
// already too old compared with the latest Tick (a delayed upload) does not
// recover the sensor.
//
// # Objects with several sensors
//
// An object's level is the worst level of its live alerting sensors (Pending
// counts as None). A silent sensor does not count, but raises its own no-data
// alert, so one working sensor keeps its object evaluated while the dead one is
// reported. Only when all of an object's alerting sensors are silent is the object
// NoData, shown apart from calm, with LastLevel the worst level they last had.
// An object with only record-only sensors is None. ObjectState names a primary
// sensor — the one deciding the level — whose value and trend it carries, and
// lists every sensor.
//
// # Order, duplicates, bad readings
//
// Readings may arrive late, out of order and more than once. A reading is
// idempotent on (sensor, time, drill): a second one at the same time is ignored,
// even with another value (the first wins, like the readings table's primary
// key). A reading older than the sensor's latest never changes its value, level,
// hold or liveness — the level always follows the newest information — but it
// joins the trend fit and the interval estimate when it lies within TrendWindow
// before the latest (or inside the span of readings held); an older one is
// ignored. Impossible readings are rejected with a
// *ReadingError naming the reason: unknown or inactive sensor, NaN or ±Inf,
// outside the sensor's physical range [RangeMin, RangeMax], a zero or absurd
// time, or a time more than MaxAhead (5 min) after the latest Tick — a device
// clock set to the future would otherwise hide every true reading after it.
//
// # Drills
//
// Readings marked Drill (from the storm simulator) are evaluated exactly like
// real ones, by the same rules, but on a separate drill track of each sensor:
// they build a separate drill picture (ObjectState.Drill, DrillState) and their
// alerts carry Drill = true. They never read or write the real state: the real
// level, the real alerts and the real no-data detection go on during a drill as if
// there were none. This is the choice an emergency bureau needs: a real red during
// an exercise must be raised, as a real alert, whatever the drill shows (a drill
// red must not mask it, a drill "all clear" must not clear it), and a drill
// alert must never be mistaken for a real one — so drill alerts are marked (the
// notifier prefixes them 演练, "drill") rather than mixed into the real level.
// Presentation is the caller's: the command-center map may draw the drill picture
// during an exercise, but real alerts arrive as real alerts all along. A drill
// ends with EndDrill, or per sensor when it has no drill reading for DrillExpiry
// (2 h); ending emits drill changes, no alerts.
//
// # Outputs
//
// Observe, Tick, SetSensor, RemoveSensor and EndDrill return the objects whose
// state changed — at most one ObjectState per object and world per call, the new
// state whole (level, primary value, trend, time, every sensor) — and the alerts
// raised, each a change of one sensor's level (From ≠ To). Apply the states in
// order; an alert is a notification. To restore the picture after a restart,
// SetSensor every sensor and Observe the recent readings (at least TrendWindow)
// in time order before the first Tick; the alerts of that replay describe the
// past and are the caller's to drop.
//
// The Evaluator is safe for concurrent use (one mutex). It keeps, per sensor and
// world, at most MaxHistory readings (16 B each).
package sensors
