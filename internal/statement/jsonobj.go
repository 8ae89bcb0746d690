package statement

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// member is one name/value pair of a JSON object, in document order.
type member struct{ name, value string }

// stringMembers decodes one JSON object whose members all have string
// values, in document order. Unlike encoding/json into a struct it rejects
// duplicate names, matches names case-sensitively and rejects trailing data.
func stringMembers(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var members []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("invalid JSON object")
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate field %.40q", name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		value, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("field %.40q is not a string", name)
		}
		members = append(members, member{name, value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("invalid JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// decodeBase64 accepts only canonical standard base64 with padding.
func decodeBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("field %q is not canonical standard base64", field)
	}
	return b, nil
}
