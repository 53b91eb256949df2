package loader

import (
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// suggestName proposes the lower-case DNS-1123 form of a name written in CamelCase or with
// other characters: "Core5GCluster" -> "core5g-cluster", "MECClusterIn5G" -> "mec-cluster-in5g".
// Words split before an upper-case letter that follows a lower-case one, or that ends an
// acronym; digits stay with the word before them.
func suggestName(name string) string {
	runes := []rune(name)
	var b strings.Builder
	for i, r := range runes {
		if unicode.IsUpper(r) && i > 0 {
			prev := runes[i-1]
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	// collapse runs of '-' and trim what a name cannot start or end with
	s := b.String()
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	s = strings.Trim(s, "-.")
	if len(s) > 253 {
		s = strings.Trim(s[:253], "-.")
	}
	return s
}

// didYouMean returns ` (did you mean "x"?)` for the accepted name closest to a misspelt one,
// or "" when none is close.
func didYouMean(got string, accepted []string) string {
	best, bestDist := "", 3
	lower := strings.ToLower(got)
	for _, a := range accepted {
		d := editDistance(lower, strings.ToLower(a))
		if d < bestDist {
			best, bestDist = a, d
		}
	}
	if best == "" || len(got) < 3 {
		return ""
	}
	return sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

const (
	subdomainRule = "object names are lower-case DNS-1123 subdomains: a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
	labelRule     = "a lower-case DNS-1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters"
)

// objectNameProblem explains why name is not a valid object name and proposes one; the loader
// never renames, because references to the name would break.
func objectNameProblem(name string) string {
	if len(content.IsDNS1123Subdomain(name)) == 0 {
		return ""
	}
	msg := sprintf("invalid name %q: %s", name, subdomainRule)
	if s := suggestName(name); s != "" && len(content.IsDNS1123Subdomain(s)) == 0 {
		msg += sprintf("; use %q and change every reference to it", s)
	}
	return msg
}

// labelNameProblem explains why value is not a DNS-1123 label (a member or tenant name).
func labelNameProblem(what, value string) string {
	if len(content.IsDNS1123Label(value)) == 0 {
		return ""
	}
	msg := sprintf("invalid %s %q: must be %s", what, value, labelRule)
	if s := suggestName(value); s != "" && s != value && len(content.IsDNS1123Label(s)) == 0 {
		msg += sprintf(", such as %q", s)
	}
	return msg
}
