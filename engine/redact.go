package engine

import (
	"regexp"
	"sort"
	"strings"
)

// Redacted replaces every secret in text that reaches facts, errors or logs.
const Redacted = "[REDACTED]"

var (
	// userinfoRe matches the password of a URL's userinfo (scheme://user:password@host).
	userinfoRe = regexp.MustCompile(`(://[^/@:\s]*:)[^@/\s]+@`)
	// secretParamRe matches query or key=value parameters whose name says they are secret.
	secretParamRe = regexp.MustCompile(`(?i)\b((?:access_|api_|auth_)?(?:token|key|secret|password|passwd|pwd|sig|signature|apikey))=([^&\s'"]+)`)
	// bearerRe matches an Authorization header value echoed into an error.
	bearerRe = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}`)
	// webhookPathRe matches the secret path of Slack-style incoming webhooks.
	webhookPathRe = regexp.MustCompile(`(hooks\.slack\.com/services/|/hooks/)[A-Za-z0-9/_-]+`)
)

// Redact removes the given secret values and anything shaped like a credential (URL
// passwords, token=… parameters, bearer values, webhook paths) from s. Collectors pass every
// secret they read, so even a server that echoes a token back cannot leak it into a fact.
func Redact(s string, secrets ...string) string {
	// Longest first, so a secret containing another is replaced whole.
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = userinfoRe.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = secretParamRe.ReplaceAllString(s, "${1}="+Redacted)
	s = bearerRe.ReplaceAllString(s, "${1} "+Redacted)
	s = webhookPathRe.ReplaceAllString(s, "${1}"+Redacted)
	return s
}
