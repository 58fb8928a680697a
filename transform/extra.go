package transform

import (
	"bytes"
	"slices"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/interview-export/interview-export/internal/sanitize"
)

// extra makes the members of an object that the schema does not name (as
// json/v2 captured them, an object or nothing) storable in a jsonb column:
// every string, member names included, follows the stored-text rules (no
// NUL, invalid UTF-8 as U+FFFD); numbers and the rest are kept as sent.
// It returns nil when there is none.
func extra(v jsontext.Value) ([]byte, error) {
	if len(v) == 0 || v.Kind() != '{' {
		return nil, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out, jsontext.AllowDuplicateNames(true))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		if tok.Kind() == '"' {
			tok = jsontext.String(sanitize.Text(tok.String()))
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, err
		}
		if dec.StackDepth() == 0 {
			break // the one value is read whole
		}
	}
	doc := bytes.TrimSpace(out.Bytes())
	if string(doc) == "{}" {
		return nil, nil
	}
	return doc, nil
}

// ExtraFields are the paths of the members that the schema does not name in
// a decoded transcript, such as "interview.language" or
// "interview.messages[].durationMs", sorted and each once.
func ExtraFields(interviewExtra []byte, messageExtras ...[]byte) []string {
	var paths []string
	add := func(prefix string, doc []byte) {
		if doc == nil {
			return
		}
		dec := jsontext.NewDecoder(bytes.NewReader(doc), jsontext.AllowDuplicateNames(true))
		if _, err := dec.ReadToken(); err != nil { // {
			return
		}
		for dec.PeekKind() == '"' {
			name, err := dec.ReadToken()
			if err != nil {
				return
			}
			paths = append(paths, prefix+name.String())
			if err := dec.SkipValue(); err != nil {
				return
			}
		}
	}
	add("interview.", interviewExtra)
	for _, m := range messageExtras {
		add("interview.messages[].", m)
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}
