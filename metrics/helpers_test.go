package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// histogram reads the current state of one histogram series.
func histogram(t *testing.T, o prometheus.Observer) *dto.Histogram {
	t.Helper()
	var pb dto.Metric
	if err := o.(prometheus.Metric).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram()
}

func histogramSum(t *testing.T, o prometheus.Observer) float64 {
	t.Helper()
	return histogram(t, o).GetSampleSum()
}

func histogramCount(t *testing.T, o prometheus.Observer) uint64 {
	t.Helper()
	return histogram(t, o).GetSampleCount()
}
