package output

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// JUnit renders each check as a test case, so CI systems show the gate like a test run:
// a check that is not go is a failure, whatever its outcome.
type JUnit struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// Render implements Renderer.
func (JUnit) Render(w io.Writer, rec *engine.Record) error {
	suite := junitSuite{
		Name:      "gatekeeper." + string(rec.Gate),
		Timestamp: rec.Now,
		Properties: []junitProperty{
			{"decision", string(rec.Decision)}, {"launch_id", rec.LaunchID}, {"environment", rec.Environment},
			{"input_digest", rec.InputDigest}, {"policies_digest", rec.PoliciesDigest},
		},
	}
	for _, c := range rec.Checks {
		tc := junitCase{Name: c.Rule, Classname: "gatekeeper." + string(rec.Gate), Time: "0", SystemOut: FormatEvidence(c.Evidence)}
		if c.Outcome != engine.Go {
			tc.Failure = &junitFailure{Message: c.Message, Type: fmt.Sprintf("%s/%s", c.Outcome, c.Status), Body: c.Message + "\n" + FormatEvidence(c.Evidence)}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	for _, wn := range rec.Warnings {
		suite.SystemOut += "warning: " + wn.Rule + ": " + wn.Message + "\n"
	}
	doc := junitSuites{Name: "gatekeeper", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
