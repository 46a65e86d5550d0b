package httpx

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Default JSON paths of a version document, as the runbook schema defaults them.
const (
	DefaultCommitPath = "commit" // version_path default
	DefaultImagePath  = "image"  // image_path default
)

// bareSHA is a plain-text version body: a commit SHA alone (git rev-parse HEAD > version).
var bareSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// Build is what one version endpoint reports. Strings are raw: the policy compares them
// (short against full SHA, image digests), the collectors do not.
type Build struct {
	Version string // top-level "version", if any
	Commit  string // at the commit path; never empty in a parsed Build
	Image   string // at the image path, if present
}

// ParseBuild reads a version response: the commit at commitPath (required), the image at
// imagePath (optional: reported when present) and the top-level "version" (optional,
// unless one of the paths is "version" itself).
// A body that is not JSON is accepted only when its first line is a bare commit SHA;
// anything else (an HTML page, a free-text banner) is an error, because without a
// commit the instance cannot be shown to serve any build.
func ParseBuild(mediaType string, code int, body []byte, commitPath, imagePath string) (Build, error) {
	if code < 200 || code >= 300 {
		return Build{}, fmt.Errorf("HTTP %d: %s", code, Snippet(body, 120))
	}
	if commitPath == "" {
		commitPath = DefaultCommitPath
	}
	if imagePath == "" {
		imagePath = DefaultImagePath
	}
	if !IsJSONType(mediaType) && !LooksLikeJSON(body) {
		if IsHTML(mediaType, body) {
			return Build{}, fmt.Errorf("an HTML page, not a version document: %s", Snippet(body, 120))
		}
		if line, ok := FirstLine(body, 64); ok && bareSHA.MatchString(line) {
			return Build{Commit: line}, nil
		}
		return Build{}, fmt.Errorf("neither JSON nor a bare commit SHA: %q", Snippet(body, 120))
	}
	doc, err := DecodeJSON(body)
	if err != nil {
		return Build{}, err
	}
	if _, ok := doc.(map[string]any); !ok {
		return Build{}, fmt.Errorf("JSON body is %s, not an object", AnType(doc))
	}
	var b Build
	commit, found, err := LookupString(doc, commitPath)
	if err != nil {
		return Build{}, fmt.Errorf("commit: %w", err)
	}
	if !found {
		return Build{}, fmt.Errorf("no commit at JSON path %q (version_path)", commitPath)
	}
	b.Commit = commit
	image, _, err := LookupString(doc, imagePath)
	if err != nil {
		return Build{}, fmt.Errorf("image: %w", err)
	}
	b.Image = image
	if topVersion(commitPath) || topVersion(imagePath) {
		// The version member is the commit or image here, not a release version.
		return b, nil
	}
	switch v := doc.(map[string]any)["version"].(type) {
	case string:
		b.Version = v
	case json.Number:
		b.Version = v.String()
	}
	return b, nil
}

// topVersion reports whether a JSON path addresses the top-level "version" member.
func topVersion(path string) bool {
	segs, err := ParsePath(path)
	return err == nil && len(segs) == 1 && segs[0] == "version"
}
