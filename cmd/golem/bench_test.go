package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	_, _, err := runCLI(t, "", "bench", "-p", "600", "-n", "3", "-r", "2", "--bw", "20", "--json", "-c", "1000")
	if err == nil || !strings.Contains(err.Error(), "context length 512") {
		t.Errorf("-p 600 on a 512-token model: err = %v, want a context length error", err)
	}
	out, _, err := runCLI(t, "", "bench", "-p", "40", "-n", "3", "-r", "2", "--bw", "20", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(rep.Tests) != 2 || rep.Tests[0].Test != "pp40" || rep.Tests[1].Test != "tg3" {
		t.Fatalf("tests = %+v, want pp40 and tg3", rep.Tests)
	}
	if rep.WeightBytes <= 0 || rep.MemBWGBs != 20 {
		t.Errorf("weight bytes %d, bandwidth %g; want > 0 and 20", rep.WeightBytes, rep.MemBWGBs)
	}
	for _, r := range rep.Tests {
		if len(r.Samples) != 2 || !(r.Min <= r.Median && r.Median <= r.Max) || r.Min <= 0 {
			t.Errorf("%s: samples %v, min %g median %g max %g", r.Test, r.Samples, r.Min, r.Median, r.Max)
		}
	}
	tg := rep.Tests[1]
	if want := float64(rep.WeightBytes) * tg.Median / 1e9; tg.GBs != want || tg.PctBW != 100*want/20 {
		t.Errorf("tg: %g GB/s, %g%%; want %g and %g", tg.GBs, tg.PctBW, want, 100*want/20)
	}
}

func TestBenchMembw(t *testing.T) {
	out, _, err := runCLI(t, "", "bench", "--membw", "--membw-size", "16", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		GBs   float64 `json:"membw_gb_s"`
		Bytes int64   `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.GBs <= 0 || r.Bytes != 16<<20 {
		t.Errorf("--membw: %s (%v)", out, err)
	}
}
