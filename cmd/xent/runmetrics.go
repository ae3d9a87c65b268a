package main

import (
	"encoding/json"
	"io"

	"github.com/xent-go/xent/internal/atomicfile"
)

// epochMetrics is one epoch's row of metrics.json. Losses are means per
// sample; the accuracy is a fraction in [0, 1].
type epochMetrics struct {
	Epoch        int     `json:"epoch"`
	LR           float64 `json:"lr"`
	TrainLoss    float64 `json:"train_loss"`
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	// The multi-label task's metrics (absent for the single-label task).
	TestMAP       *float64 `json:"test_map,omitempty"`
	TestTopMExact *float64 `json:"test_topm_exact,omitempty"`
	TestF1        *float64 `json:"test_f1,omitempty"`
	// Seconds is the epoch's wall time, training and evaluation;
	// ImagesPerSecond counts the training images over the training time
	// alone.
	Seconds         float64 `json:"seconds"`
	TrainSeconds    float64 `json:"train_seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// runMetrics is the content of metrics.json: the run's configuration at
// the top level, what it ran on, and one row per epoch (all epochs since
// the start, also after --resume).
type runMetrics struct {
	trainConfig
	Arch        string         `json:"arch"`
	Params      int            `json:"params"`
	Data        string         `json:"data"`
	TrainImages int            `json:"train_images"`
	TestImages  int            `json:"test_images"`
	ResumedFrom string         `json:"resumed_from,omitempty"`
	Epochs      []epochMetrics `json:"epochs"`
}

// writeMetrics writes m to path as indented JSON, atomically.
func writeMetrics(path string, m *runMetrics) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}

// ptr returns a pointer to a copy of v.
func ptr(v float64) *float64 { return &v }
