package smoke

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// want is one expected test: suite, name, status, and a substring its message must hold.
type want struct {
	suite, name string
	status      Status
	msg         string
}

func parseFile(t *testing.T, format, path string) *Suite {
	t.Helper()
	p, err := ParserFor(format)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := p.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return s
}

func parseString(format, doc string) (*Suite, error) {
	p, err := ParserFor(format)
	if err != nil {
		return nil, err
	}
	return p.Parse(strings.NewReader(doc))
}

func checkTests(t *testing.T, got []Test, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, g := range got {
			t.Logf("got %s | %s | %s | %q", g.Suite, g.Name, g.Status, g.Message)
		}
		t.Fatalf("got %d tests, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		if g.Suite != w.suite || g.Name != w.name || g.Status != w.status {
			t.Errorf("test %d = %q | %q | %s, want %q | %q | %s", i, g.Suite, g.Name, g.Status, w.suite, w.name, w.status)
		}
		if !strings.Contains(g.Message, w.msg) {
			t.Errorf("test %d (%s) message %q lacks %q", i, g.Name, g.Message, w.msg)
		}
		if w.msg == "" && w.status == StatusPassed && g.Message != "" {
			t.Errorf("test %d (%s) passed with message %q", i, g.Name, g.Message)
		}
	}
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkTimes(t *testing.T, s *Suite, start, end string) {
	t.Helper()
	if start == "" {
		if !s.Started.IsZero() || !s.Finished.IsZero() {
			t.Errorf("times = %v .. %v, want none", s.Started, s.Finished)
		}
		return
	}
	if !s.Started.Equal(ts(t, start)) || !s.Finished.Equal(ts(t, end)) {
		t.Errorf("times = %s .. %s, want %s .. %s", rfc3339(s.Started), rfc3339(s.Finished), start, end)
	}
}

// TestJUnitRealReports checks the reports written by the real tools (see testdata/README.md).
func TestJUnitRealReports(t *testing.T) {
	cases := []struct {
		file       string
		start, end string
		tests      []want
		classnames []string
	}{
		{
			file:  "testdata/pytest/pytest-junit.xml",
			start: "2026-11-26T08:00:28.508579Z", end: "2026-11-26T08:00:28.586579Z",
			tests: []want{
				{"shop-smoke", "test_homepage_loads_with_200", StatusPassed, ""},
				{"shop-smoke", "test_checkout_pays_with_card", StatusFailed, "AssertionError: checkout total mismatch"},
				{"shop-smoke", "test_dashboard_loads_for_test_user", StatusFailed, "error: failed on setup"},
				{"shop-smoke", "test_wishlist_syncs", StatusSkipped, "wishlist sync disabled"},
				{"shop-smoke", "test_search_returns_results", StatusPassed, ""},
				{"shop-smoke", "test_search_typo_tolerance", StatusSkipped, "known issue SHOP-1432"}, // xfail
			},
			classnames: []string{"test_shop_smoke", "test_shop_smoke", "test_shop_smoke", "test_shop_smoke", "test_shop_smoke.TestSearch", "test_shop_smoke.TestSearch"},
		},
		{
			// pytest-rerunfailures 10.2 leaves no trace of the rerun in the XML: the flaky
			// test reads as passed. Playwright's includeRetries and Surefire do record it.
			file:  "testdata/pytest/pytest-rerun-junit.xml",
			start: "2026-11-26T08:02:02.339147Z", end: "2026-11-26T08:02:02.358147Z",
			tests: []want{
				{"shop-smoke-rerun", "test_dashboard_loads_for_test_user", StatusPassed, ""},
				{"shop-smoke-rerun", "test_checkout_pays_with_card", StatusFailed, "payment gateway declined test card"},
				{"shop-smoke-rerun", "test_homepage_loads_with_200", StatusPassed, ""},
			},
		},
		{
			file:  "testdata/gotest/go-junit.xml",
			start: "2026-11-26T08:00:37Z", end: "2026-11-26T08:00:37.023Z",
			tests: []want{
				{"example.com/shopsmoke", "TestHomepageLoads", StatusPassed, ""},
				{"example.com/shopsmoke", "TestCheckoutPaysWithCard", StatusFailed, "total = 2499 cents, want 2500"},
				{"example.com/shopsmoke", "TestWishlistSyncs", StatusSkipped, "wishlist sync disabled"},
				{"example.com/shopsmoke", "TestSearch", StatusFailed, "Failed"},
				{"example.com/shopsmoke", "TestSearch/returns_results", StatusPassed, ""},
				{"example.com/shopsmoke", "TestSearch/typo_tolerance", StatusFailed, `no results for "shoo"`},
			},
		},
		{
			// jest-junit writes zone-less UTC timestamps and puts the root's time on testsuites.
			file:  "testdata/jest/jest-junit.xml",
			start: "2026-11-26T08:01:58Z", end: "2026-11-26T08:01:58.188Z",
			tests: []want{
				{"home", "home homepage loads with 200", StatusPassed, ""},
				{"home", "home wishlist syncs", StatusSkipped, ""},
				{"home", "checkout checkout pays with card", StatusFailed, "Received: 24.99"},
				{"home", "checkout checkout applies coupon", StatusFailed, "TypeError: coupon service returned undefined"},
			},
		},
		{
			// Playwright's default JUnit output: a retried-then-passed test looks passed.
			file:  "testdata/playwright/pw.xml",
			start: "2026-11-26T08:01:33.921Z", end: "2026-11-26T08:01:40.163592Z",
			tests: []want{
				{"checkout.spec.js", "checkout › checkout pays with card", StatusFailed, "toHaveText"},
				{"checkout.spec.js", "checkout › checkout applies coupon", StatusSkipped, "coupons are disabled"},
				{"checkout.spec.js", "checkout › wallet › wallet page opens", StatusPassed, ""},
				{"home.spec.js", "homepage loads with 200", StatusPassed, ""},
				{"home.spec.js", "dashboard loads for test user", StatusPassed, ""},
			},
		},
		{
			// includeRetries: flakyFailure for the test that passed on retry, rerunFailure
			// beside the failure of the one that never passed.
			file:  "testdata/playwright/pw-retries.xml",
			start: "2026-11-26T08:01:33.921Z", end: "2026-11-26T08:01:40.163592Z",
			tests: []want{
				{"checkout.spec.js", "checkout › checkout pays with card", StatusFailed, "toHaveText"},
				{"checkout.spec.js", "checkout › checkout applies coupon", StatusSkipped, "coupons are disabled"},
				{"checkout.spec.js", "checkout › wallet › wallet page opens", StatusPassed, ""},
				{"home.spec.js", "homepage loads with 200", StatusPassed, ""},
				{"home.spec.js", "dashboard loads for test user", StatusFlaky, "first attempt fails on purpose"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			s := parseFile(t, FormatJUnit, tc.file)
			checkTests(t, s.Tests, tc.tests)
			checkTimes(t, s, tc.start, tc.end)
			if len(s.Errors) != 0 {
				t.Errorf("errors = %q", s.Errors)
			}
			for i, cls := range tc.classnames {
				if got := s.Tests[i].Attrs["classname"]; got != cls {
					t.Errorf("test %d classname = %v, want %q", i, got, cls)
				}
			}
		})
	}
	// Durations come from the testcase's time attribute.
	s := parseFile(t, FormatJUnit, "testdata/pytest/pytest-junit.xml")
	if s.Tests[0].Duration != 51*time.Millisecond {
		t.Errorf("duration = %v, want 51ms", s.Tests[0].Duration)
	}
}

// TestJUnitVariants covers the shapes the writers differ in.
func TestJUnitVariants(t *testing.T) {
	cases := []struct {
		name       string
		doc        string
		start, end string
		tests      []want
	}{
		{
			name: "bare testsuite, counts attributes lie",
			doc: `<?xml version="1.0"?>
<testsuite name="smoke" tests="1" failures="0" errors="0" skipped="0" timestamp="2026-11-25T14:00:00Z" time="12.5">
  <testcase name="homepage loads with 200" classname="smoke" time="1.5"/>
  <testcase name="checkout pays with card" classname="smoke" time="2"><failure message="boom">trace</failure></testcase>
</testsuite>`,
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:12.5Z",
			tests: []want{
				{"smoke", "homepage loads with 200", StatusPassed, ""},
				{"smoke", "checkout pays with card", StatusFailed, "boom\ntrace"},
			},
		},
		{
			name: "testsuites root with several suites, error vs failure vs skipped",
			doc: `<testsuites time="30">
  <testsuite name="a" timestamp="2026-11-25T14:00:10+01:00" time="5">
    <testcase name="errs"><error message="NullPointerException" type="java.lang.NPE"/></testcase>
    <testcase name="fails"><failure>assert 1 == 2</failure></testcase>
  </testsuite>
  <testsuite name="b" timestamp="2026-11-25T13:00:00Z" time="50">
    <testcase name="skips"><skipped message="not today"/></testcase>
    <testcase name="skipped then failed"><skipped/><failure message="late"/></testcase>
  </testsuite>
</testsuites>`,
			start: "2026-11-25T13:00:00Z", end: "2026-11-25T13:00:50Z",
			tests: []want{
				{"a", "errs", StatusFailed, "error: NullPointerException"},
				{"a", "fails", StatusFailed, "assert 1 == 2"},
				{"b", "skips", StatusSkipped, "not today"},
				{"b", "skipped then failed", StatusFailed, "late"},
			},
		},
		{
			name: "Surefire flaky and rerun elements",
			doc: `<testsuite name="com.shop.SmokeIT" timestamp="2026-11-25T14:00:00" time="3.000">
  <testcase name="dashboardLoads" classname="com.shop.SmokeIT" time="1.2">
    <flakyFailure message="timeout" type="java.util.concurrent.TimeoutException"><stackTrace>at Smoke.java:12</stackTrace></flakyFailure>
  </testcase>
  <testcase name="searchWorks" classname="com.shop.SmokeIT" time="0.5">
    <flakyError message="connection reset"/>
  </testcase>
  <testcase name="checkoutPays" classname="com.shop.SmokeIT" time="1,300.5">
    <failure message="declined"/>
    <rerunFailure message="declined again"/>
  </testcase>
  <testcase name="cartLoads" classname="com.shop.SmokeIT"><rerunError message="503"/></testcase>
</testsuite>`,
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:03Z",
			tests: []want{
				{"com.shop.SmokeIT", "dashboardLoads", StatusFlaky, "timeout\nat Smoke.java:12"},
				{"com.shop.SmokeIT", "searchWorks", StatusFlaky, "connection reset"},
				{"com.shop.SmokeIT", "checkoutPays", StatusFailed, "declined"},
				{"com.shop.SmokeIT", "cartLoads", StatusFlaky, "503"},
			},
		},
		{
			name: "nested testsuites inherit the timestamp",
			doc: `<testsuites><testsuite name="outer" timestamp="2026-11-25T14:00:00Z" time="4">
  <testsuite name="inner" time="2"><testcase name="t1"/></testsuite>
  <testcase name="t2"/>
</testsuite></testsuites>`,
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:04Z",
			tests: []want{
				{"inner", "t1", StatusPassed, ""},
				{"outer", "t2", StatusPassed, ""},
			},
		},
		{
			name: "a suite without timestamp leaves the run's times unknown",
			doc: `<testsuites>
  <testsuite name="timed" timestamp="2026-11-25T14:00:00Z" time="1"><testcase name="t1"/></testsuite>
  <testsuite name="untimed" time="1"><testcase name="t2"/></testsuite>
</testsuites>`,
			tests: []want{{"timed", "t1", StatusPassed, ""}, {"untimed", "t2", StatusPassed, ""}},
		},
		{
			name: "testcase directly under testsuites takes the root's name",
			doc:  `<testsuites name="all"><testcase name="lonely"/></testsuites>`,
			tests: []want{
				{"all", "lonely", StatusPassed, ""},
			},
		},
		{
			name:  "ISO-8859-1 declared, entities and CDATA",
			doc:   "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite name=\"caf\xe9\" timestamp=\"2026-11-25T14:00:00Z\"><testcase name=\"a &amp; b\"><failure><![CDATA[x < y]]></failure></testcase></testsuite>",
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:00Z",
			tests: []want{
				{"café", "a & b", StatusFailed, "x < y"},
			},
		},
		{
			name:  "an empty suite is no tests, not an error",
			doc:   `<testsuites><testsuite name="none" timestamp="2026-11-25T14:00:00Z" time="0"/></testsuites>`,
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:00Z",
		},
		{
			name:  "messages bounded",
			doc:   "<testsuite name=\"s\" timestamp=\"2026-11-25T14:00:00Z\"><testcase name=\"t\"><failure message=\"red " + strings.Repeat("x", 5000) + "\">" + strings.Repeat("z", 9000) + "</failure></testcase></testsuite>",
			start: "2026-11-25T14:00:00Z", end: "2026-11-25T14:00:00Z",
			tests: []want{{"s", "t", StatusFailed, "red xxx"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseString(FormatJUnit, tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			checkTests(t, s.Tests, tc.tests)
			checkTimes(t, s, tc.start, tc.end)
			for _, tt := range s.Tests {
				if len(tt.Message) > defaultMaxMessage+len("…") {
					t.Errorf("message of %d bytes, over the bound", len(tt.Message))
				}
				if strings.Contains(tt.Message, "\x1b") {
					t.Errorf("message keeps terminal escapes: %q", tt.Message)
				}
			}
		})
	}
}

func TestJUnitZonelessLocation(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	p := &JUnitParser{Location: loc}
	s, err := p.Parse(strings.NewReader(`<testsuite name="s" timestamp="2026-11-25T15:00:00.5" time="1"><testcase name="t"/></testsuite>`))
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, s, "2026-11-25T14:00:00.5Z", "2026-11-25T14:00:01.5Z")
}

// TestJUnitHostile: broken or malicious input is refused with an error saying what is wrong.
func TestJUnitHostile(t *testing.T) {
	deep := strings.Repeat("<testsuite>", 100) + strings.Repeat("</testsuite>", 100)
	cases := []struct {
		name, doc, want string
		p               *JUnitParser
		tooLarge        bool
	}{
		{name: "empty", doc: "", want: "empty report"},
		{name: "whitespace only", doc: "  \n", want: "empty report"},
		{name: "truncated", doc: `<testsuites><testsuite name="a"><testcase name="t">`, want: "malformed XML on line 1"},
		{name: "truncated in a tag", doc: "<testsuites>\n<testsuite name=\"a\" time=\"1", want: "malformed XML on line 2"},
		{name: "mismatched tags", doc: `<testsuites><testsuite></testsuites>`, want: "malformed XML"},
		{name: "not XML", doc: `{"suites": []}`, want: "text outside any element"},
		{name: "HTML", doc: `<html><body>502 Bad Gateway</body></html>`, want: "root element is <html>"},
		{name: "deeply nested", doc: deep, want: "nested deeper than 64"},
		{name: "testcase in testcase", doc: `<testsuite><testcase name="a"><testcase name="b"/></testcase></testsuite>`, want: "<testcase> inside <testcase>"},
		{name: "second root", doc: `<testsuite name="a"/><testsuite name="b"/>`, want: "second root element"},
		{name: "entity expansion", doc: `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><testsuite name="&lol2;"/>`, want: "malformed XML"},
		{name: "unsupported encoding", doc: `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, want: "unsupported XML encoding"},
		{name: "huge text node", doc: "<testsuite><testcase name=\"a\"><system-out>" + strings.Repeat("y", 4096) + "</system-out></testcase></testsuite>",
			p: &JUnitParser{MaxTokenBytes: 1024}, want: "longer than 1024 bytes", tooLarge: true},
		{name: "huge attribute", doc: "<testsuite name=\"" + strings.Repeat("y", 4096) + "\"/>",
			p: &JUnitParser{MaxTokenBytes: 1024}, want: "longer than 1024 bytes", tooLarge: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if p == nil {
				p = &JUnitParser{}
			}
			s, err := p.Parse(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "junit: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if tc.tooLarge != errors.Is(err, ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %v", err, !tc.tooLarge)
			}
		})
	}
}
