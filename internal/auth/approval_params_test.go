package auth

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
)

// TestApprovalTargetCanonical: one set of parameters has one printable
// ASCII form, keys sorted, every character from U+0080 up escaped as JSON
// does (a UTF-16 surrogate pair above U+FFFF), invalid UTF-8 as U+FFFD; the
// form decodes back to the parameters.
func TestApprovalTargetCanonical(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"keys sorted", map[string]string{"reason": "x", "key": "k/3", "effective": "2026"}, `{"effective":"2026","key":"k/3","reason":"x"}`},
		{"DEL stays, U+0080 escaped", map[string]string{"a": "\x7f\u0080"}, "{\"a\":\"\x7f\\u0080\"}"},
		{"last BMP character", map[string]string{"a": "\uffff"}, `{"a":"\uffff"}`},
		{"first supplementary character", map[string]string{"a": "\U00010000"}, `{"a":"\ud800\udc00"}`},
		{"emoji", map[string]string{"a": "é😀"}, `{"a":"\u00e9\ud83d\ude00"}`},
		{"last code point", map[string]string{"a": "\U0010ffff"}, `{"a":"\udbff\udfff"}`},
		{"invalid UTF-8", map[string]string{"a": "x\xffy"}, `{"a":"x\ufffdy"}`},
		{"U+FFFD itself", map[string]string{"a": "\ufffd"}, `{"a":"\ufffd"}`},
		{"HTML characters", map[string]string{"a": "<&>"}, `{"a":"\u003c\u0026\u003e"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ApprovalTarget(tt.params)
			if got != tt.want {
				t.Fatalf("ApprovalTarget = %s, want %s", got, tt.want)
			}
			var back map[string]string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("target does not decode: %v", err)
			}
			if tt.name != "invalid UTF-8" && !maps.Equal(back, tt.params) {
				t.Errorf("target decodes to %q, want %q", back, tt.params)
			}
		})
	}
}

// TestApprovalRowTamperedAfterRequest: an approval whose stored target (or
// action) no longer matches the hash it was requested with, as after a DBA
// edited the row, can be neither approved nor used, even for the edited
// target itself: the approver approved the hash.
func TestApprovalRowTamperedAfterRequest(t *testing.T) {
	c := &clock{t: ruleStart}
	a, err := NewApproval(alice, revokeKey, ruleOptions(c))
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(*Approval){
		"target":        func(a *Approval) { a.Target = "marketplace-signing/4" },
		"action":        func(a *Approval) { a.Action = "key.destroy" },
		"hash":          func(a *Approval) { a.ParamsSHA256 = ApprovalParamsSHA256("key.revoke", "marketplace-signing/4") },
		"target + hash": nil, // control: a consistent edit is a different approval, approvable
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			tampered := a
			if edit == nil {
				tampered.Target = "marketplace-signing/4"
				tampered.ParamsSHA256 = ApprovalParamsSHA256(tampered.Action, tampered.Target)
			} else {
				edit(&tampered)
			}
			_, err := tampered.Approve(bob, ruleOptions(c))
			if want := edit != nil; errors.Is(err, ErrApprovalMismatch) != want || (!want && err != nil) {
				t.Fatalf("Approve of the edited row = %v, want mismatch %v", err, want)
			}
			approved, err := a.Approve(bob, ruleOptions(c))
			if err != nil {
				t.Fatal(err)
			}
			if edit == nil {
				return
			}
			edit(&approved)
			if _, err := approved.Consume(alice, approved.Action, approved.Target, ruleOptions(c)); !errors.Is(err, ErrApprovalMismatch) {
				t.Errorf("Consume of the row edited after approval = %v, want ErrApprovalMismatch", err)
			}
		})
	}
}
