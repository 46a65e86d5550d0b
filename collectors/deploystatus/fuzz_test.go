package deploystatus

import "testing"

// FuzzParse feeds arbitrary status files to the parser: an accepted status is always
// succeeded or failed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"status":"succeeded","finished_at":"2026-11-25T13:19:42Z","detail":"ok"}`,
		`{"status":"failed","detail":{"a":[1,2]}}`,
		`{"status":null}`,
		"succeeded\n", "Success", "FAILED", "cancelled", "deployed", "", "{", "succeeded failed",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parse(body)
		if err != nil {
			return
		}
		if s := d["status"]; s != Succeeded && s != Failed {
			t.Fatalf("status %v", s)
		}
	})
}
