package sim

import (
	"slices"
	"time"
)

// Scenario is the weather of one simulation: a straight band of heavy rain moving
// over the district, a wide shield of moderate rain around it, drizzle everywhere,
// and convective cells that make the band uneven along its length.
//
// The band's core enters BandMargin × BandWidth before the first sensor (along
// BandHeading) at time 0 and leaves BandMargin × BandWidth past the last one at
// BandCross; it goes on moving after that, so the rain fades. Rain at a point
// (mm/h) is
//
//	BandPeak·cells·exp(−d²/2·BandWidth²) + ShieldPeak·exp(−d²/2·ShieldWidth²) + Drizzle
//
// where d is the point's distance across the band from its core line.
type Scenario struct {
	Name        string
	Description string
	// Duration is the simulated time the scenario runs for.
	Duration time.Duration
	// BandPeak is the rain rate at the band's core, mm/h, before cells.
	BandPeak float64
	// BandWidth is the band's Gaussian half-width across its core line, m.
	BandWidth float64
	// BandHeading is the direction the band moves, degrees clockwise from north;
	// its core line lies across that direction.
	BandHeading float64
	// BandCross is how long the core takes to cross the district and its margins.
	BandCross time.Duration
	// BandMargin is where the core starts and ends, in band widths outside the
	// outermost sensors.
	BandMargin float64
	// ShieldPeak and ShieldWidth describe the wide area of moderate rain the band
	// is embedded in (mm/h, m).
	ShieldPeak, ShieldWidth float64
	// Drizzle is the rain rate everywhere, all the time, mm/h.
	Drizzle float64
	// Cells is the amplitude (0..1) of the convective cells that modulate the
	// band along its length: the band's rate varies by ±Cells.
	Cells float64
}

// Typhoon is the scenario of a typhoon's main rain band crossing Luohu from the
// west-north-west over six hours, with three more hours of recession: gauges under
// the core read 70–110 mm/h (red) for about an hour, underpasses and low roads flood
// to red, residential spots later and less, reservoirs rise by one to two metres,
// and a few susceptible natural slopes creep by tens of millimetres.
var Typhoon = Scenario{
	Name:        "typhoon",
	Description: "a typhoon rain band crossing the district west to east in 6 h, then 3 h of recession",
	Duration:    9 * time.Hour,
	BandPeak:    60,
	BandWidth:   3500,
	BandHeading: 100,
	BandCross:   6 * time.Hour,
	BandMargin:  2.5,
	ShieldPeak:  7,
	ShieldWidth: 12000,
	Drizzle:     1,
	Cells:       0.4,
}

// Calm is ordinary weather: drizzle and a weak shower line passing over six hours,
// never above the blue rain threshold (20 mm/h). The demo's reading history is
// made with it.
var Calm = Scenario{
	Name:        "calm",
	Description: "drizzle and a weak shower line passing over 6 h; nothing reaches a warning",
	Duration:    6 * time.Hour,
	BandPeak:    6,
	BandWidth:   2500,
	BandHeading: 80,
	BandCross:   6 * time.Hour,
	BandMargin:  2.5,
	ShieldPeak:  1.5,
	ShieldWidth: 10000,
	Drizzle:     0.3,
	Cells:       0.4,
}

// Scenarios lists the named scenarios.
func Scenarios() []Scenario { return []Scenario{Typhoon, Calm} }

// ScenarioByName returns the named scenario.
func ScenarioByName(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios(), func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios()[i], true
}

// ScenarioNames lists the names of the scenarios.
func ScenarioNames() []string {
	var out []string
	for _, s := range Scenarios() {
		out = append(out, s.Name)
	}
	return out
}
