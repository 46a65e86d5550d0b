package launch

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
)

// EventAttestation is the archived event of a manual check or a commander's call.
const EventAttestation = "attestation"

// Attestation kinds.
const (
	KindManualCheck = "manual_check"
	KindCall        = "call"
)

// Attestation is a person's signed statement for the launch: the result of a manual check,
// or the commander's hold / rollback / resume call. The next decision reads it as a fact.
type Attestation struct {
	By       string
	Check    string // manual check name; empty for a call
	Result   string // pass | fail (manual check)
	Critical bool   // a failed critical manual check is a rollback reason
	Call     string // hold | rollback | resume
	Note     string
	At       time.Time
}

// Validate reports an attestation that is neither exactly a manual check nor a call.
func (a Attestation) Validate() error {
	if strings.TrimSpace(a.By) == "" {
		return errors.New("attest: --by is required: who attests")
	}
	switch {
	case a.Check != "" && a.Call != "":
		return errors.New("attest: give either --check with --result, or --call, not both")
	case a.Check != "":
		if strings.TrimSpace(a.Check) == "" {
			return errors.New("attest: --check must name the manual check")
		}
		if a.Result != "pass" && a.Result != "fail" {
			return fmt.Errorf("attest: --result %q: want pass or fail", a.Result)
		}
	case a.Call != "":
		if a.Call != "hold" && a.Call != "rollback" && a.Call != "resume" {
			return fmt.Errorf("attest: --call %q: want hold, rollback or resume", a.Call)
		}
		if a.Result != "" || a.Critical {
			return errors.New("attest: --result and --critical belong to --check, not --call")
		}
	default:
		return errors.New("attest: give --check NAME --result pass|fail, or --call hold|rollback|resume")
	}
	return nil
}

// Data is the attestation event's data (docs/facts.md).
func (a Attestation) Data() map[string]any {
	d := map[string]any{"by": a.By, "note": a.Note}
	if a.Call != "" {
		d["kind"], d["call"] = KindCall, a.Call
	} else {
		d["kind"], d["check"], d["result"], d["critical"] = KindManualCheck, a.Check, a.Result, a.Critical
	}
	return d
}

// Attest appends a signed attestation to the existing launch archive in dir. A key is
// required: an unsigned statement could be anyone's.
func Attest(dir string, key ed25519.PrivateKey, a Attestation) (*archive.Entry, error) {
	if key == nil {
		return nil, errors.New("attest: a signing key is required (--sign-key FILE or $GATEKEEPER_SIGNING_KEY; create one with 'gatekeeper keygen')")
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	arch, err := archive.Open(dir)
	if err != nil {
		return nil, err
	}
	// The attestation is signed whatever the launch's own records are: verification checks
	// every signature present, and only decisions must stay signed once signed.
	arch.SignWith(key)
	if a.At.IsZero() {
		a.At = time.Now()
	}
	return arch.AppendEvent(archive.Event{Type: EventAttestation, At: a.At.UTC().Format(time.RFC3339Nano), Data: a.Data()})
}
