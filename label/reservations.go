package label

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/ailabel/ailabel/manifest"
	"github.com/fxamacker/cbor/v2"
)

// Reservation is a machine-readable reservation of rights against AI training or data mining
// (Kazakhstan's Law on AI, Art. 23; the EU DSM directive Art. 4(3)) found in content: ours
// (ailabel label --no-training) or anyone's.
type Reservation struct {
	// Where is what carries it: "C2PA cawg.training-mining", "C2PA c2pa.training-mining" (the
	// C2PA 1.x assertion) or "XMP plus:DataMining".
	Where string `json:"where"`
	// Uses maps each use named (cawg.ai_training, cawg.data_mining, …) to allowed, notAllowed
	// or constrained; for plus:DataMining it holds the one value under "plus:DataMining".
	Uses map[string]string `json:"uses"`
	// Reserved is true when any use is not allowed (constrained without more information counts
	// as not allowed).
	Reserved bool `json:"reserved"`
	// Signed is true when the reservation is in a C2PA manifest (signed), false for XMP.
	Signed bool `json:"signed"`
}

// Summary says in words which uses are reserved.
func (r Reservation) Summary() string {
	var no []string
	for use, v := range r.Uses {
		if v != "allowed" && !strings.HasSuffix(v, "DMI-ALLOWED") && !strings.HasSuffix(v, "DMI-UNSPECIFIED") {
			no = append(no, strings.TrimPrefix(strings.TrimPrefix(use, "cawg."), "c2pa.")+"="+shortDMI(v))
		}
	}
	sort.Strings(no)
	if len(no) == 0 {
		return "no reservation (" + r.Where + ")"
	}
	return "reserved against " + strings.Join(no, ", ") + " (" + r.Where + ")"
}

func shortDMI(v string) string {
	if i := strings.LastIndex(v, "/"); i >= 0 {
		return v[i+1:]
	}
	return v
}

// manifestReservations reads the training-and-data-mining assertions of a manifest.
func manifestReservations(m *manifest.Manifest) []Reservation {
	var out []Reservation
	for _, a := range m.Assertions {
		base := a.Label
		if i := strings.LastIndex(base, "__"); i > 0 { // multiple instances: label__N
			base = base[:i]
		}
		if base != TrainingMiningLabel && base != "c2pa.training-mining" {
			continue
		}
		var v struct {
			Entries map[string]struct {
				Use string `cbor:"use" json:"use"`
			} `cbor:"entries" json:"entries"`
		}
		var err error
		if a.Kind == "json" {
			err = json.Unmarshal(a.Content, &v)
		} else {
			err = cbor.Unmarshal(a.Content, &v)
		}
		if err != nil || len(v.Entries) > 1000 {
			continue
		}
		r := Reservation{Where: "C2PA " + base, Uses: map[string]string{}, Signed: true}
		for use, e := range v.Entries {
			r.Uses[use] = e.Use
			if e.Use == "notAllowed" || e.Use == "constrained" {
				r.Reserved = true
			}
		}
		out = append(out, r)
	}
	return out
}

// xmpReservation reads plus:DataMining.
func xmpReservation(value string) *Reservation {
	if value == "" {
		return nil
	}
	code := shortDMI(value)
	return &Reservation{Where: "XMP plus:DataMining", Uses: map[string]string{"plus:DataMining": value},
		Reserved: strings.HasPrefix(code, "DMI-PROHIBITED")}
}
