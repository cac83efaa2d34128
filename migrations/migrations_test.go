package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestPostGISMigrationsLoad(t *testing.T) {
	all, err := PostGIS()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Version != 1 || all[0].Name != "init" {
		t.Fatalf("migrations %+v", all)
	}
	if !strings.Contains(all[0].SQL, "CREATE EXTENSION IF NOT EXISTS postgis") {
		t.Fatal("0001 does not create the postgis extension")
	}
}

func TestLoadRejectsBadSets(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"gap", fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, "expected version 2"},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": {}, "m/0001_b.sql": {}}, "expected version 2, found 1"},
		{"bad name", fstest.MapFS{"m/first.sql": {}}, "NNNN_description.sql"},
		{"zero", fstest.MapFS{"m/0000_a.sql": {}}, "NNNN_description.sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.files, "m")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ...%s...", err, tt.want)
			}
		})
	}
}
