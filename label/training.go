package label

import (
	"github.com/ailabel/ailabel/manifest"
)

// XMP namespace and value of the IPTC/PLUS data-mining property.
const (
	// NSPLUS is the PLUS XMP namespace (plus:DataMining).
	NSPLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
	// PLUSNoAITraining is the plus:DataMining value NoTraining writes: data mining for AI/ML
	// training prohibited.
	PLUSNoAITraining = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"
)

// TrainingMiningLabel is the CAWG training-and-data-mining assertion's label.
const TrainingMiningLabel = "cawg.training-mining"

// trainingReservation is the cawg.training-mining assertion NoTraining adds: AI training and
// generative AI training not allowed (CAWG training-and-data-mining assertion 1.1).
func trainingReservation() manifest.Assertion {
	notAllowed := map[string]any{"use": "notAllowed"}
	return manifest.Assertion{Label: TrainingMiningLabel, Value: map[string]any{
		"entries": map[string]any{
			"cawg.ai_training":            notAllowed,
			"cawg.ai_generative_training": notAllowed,
		},
	}}
}
