// Package collectors holds one subpackage per source of facts. Each implements
// engine.Collector, reports raw, timestamped observations with provenance, applies no
// thresholds (the policies decide), and imports no other collector. collectortest is the
// shared test kit every collector runs.
package collectors
