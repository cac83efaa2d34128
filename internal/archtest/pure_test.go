package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPurePackagesStayPure: the pure packages never depend on the network or the
// database, directly or through another package.
func TestPurePackagesStayPure(t *testing.T) {
	pure := []string{"riskmap/geo", "riskmap/layers", "riskmap/feature", "riskmap/index", "riskmap/demo", "riskmap/store/geomconv",
		"riskmap/tiles", "riskmap/tiles/mvt", "riskmap/events", "riskmap/feed", "riskmap/sensors", "riskmap/sim", "riskmap/report"}
	// database/sql/driver (interfaces go-geom implements) is fine; database/sql is not.
	forbidden := []string{"net/http", "github.com/jackc/pgx/v5", "database/sql", "github.com/eclipse/paho.mqtt.golang"}
	for _, pkg := range pure {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || f != "database/sql" && strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
