package dashboards

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestZZLiveTmp(t *testing.T) {
	base := os.Getenv("DASH_LIVE_PROM")
	if base == "" {
		t.Skip()
	}
	qs, err := PanelQueries(Dashboard(), map[string]string{"__range": "2m", "__interval": "10s", "__rate_interval": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	for _, q := range qs {
		p := url.Values{"query": {q.Expr}}
		path := "/api/v1/query"
		if q.Instant {
			p.Set("time", strconv.FormatInt(now, 10))
		} else {
			path = "/api/v1/query_range"
			p.Set("start", strconv.FormatInt(now-120, 10))
			p.Set("end", strconv.FormatInt(now, 10))
			p.Set("step", "10")
		}
		resp, err := http.Get(base + path + "?" + p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Status, Error string
			Data          struct {
				Result []promSeries `json:"result"`
			}
		}
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		summary := ""
		for i, s := range r.Data.Result {
			if i == 3 {
				summary += " ..."
				break
			}
			if q.Instant {
				summary += " " + toJSON(s.Metric) + "=" + s.Value[1].(string)
			} else {
				summary += " " + toJSON(s.Metric)
			}
		}
		t.Logf("%-45s %s n=%d status=%s%s mayBeEmpty=%v %s", q.PanelTitle, q.RefID, len(r.Data.Result), r.Status, r.Error, q.MayBeEmpty, summary)
		if len(r.Data.Result) == 0 && !q.MayBeEmpty {
			t.Errorf("EMPTY: %s %s", q.PanelTitle, q.RefID)
		}
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
