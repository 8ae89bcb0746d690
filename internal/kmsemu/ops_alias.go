package kmsemu

import (
	"regexp"
	"sort"
	"strings"
)

var aliasRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)

func (s *Server) createAlias(body []byte) (any, *apiError) {
	var in struct {
		AliasName   string
		TargetKeyId string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if !aliasRE.MatchString(in.AliasName) || strings.HasPrefix(in.AliasName, "alias/aws/") {
		return nil, errorf("InvalidAliasNameException", "alias name %q is not valid", in.AliasName)
	}
	if strings.HasPrefix(in.TargetKeyId, "alias/") || strings.Contains(in.TargetKeyId, ":alias/") {
		return nil, validationf("TargetKeyId must be a key id or key ARN, not an alias")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, e := s.allowedLocked(in.TargetKeyId, "CreateAlias")
	if e != nil {
		return nil, e
	}
	if k.State == StatePendingDeletion {
		return nil, errorf("KMSInvalidStateException", "%s is pending deletion.", s.keyARN(k.ID))
	}
	if _, dup := s.aliases[in.AliasName]; dup {
		return nil, errorf("AlreadyExistsException", "An alias with the name %s already exists", s.aliasARN(in.AliasName))
	}
	s.aliases[in.AliasName] = &alias{Name: in.AliasName, KeyID: k.ID, Created: s.now().UTC()}
	s.dirty = true
	return struct{}{}, nil
}

func (s *Server) deleteAlias(body []byte) (any, *apiError) {
	var in struct{ AliasName string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.aliases[in.AliasName]; !ok {
		return nil, notFoundf("Alias %s is not found.", s.aliasARN(in.AliasName))
	}
	delete(s.aliases, in.AliasName)
	s.dirty = true
	return struct{}{}, nil
}

type aliasEntry struct {
	AliasArn        string
	AliasName       string
	CreationDate    epoch
	LastUpdatedDate epoch
	TargetKeyId     string
}

// listAliases returns every alias, or those of KeyId, in one page.
func (s *Server) listAliases(body []byte) (any, *apiError) {
	var in struct{ KeyId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	filter := ""
	if in.KeyId != "" {
		k, e := s.lookupLocked(in.KeyId)
		if e != nil {
			return nil, e
		}
		filter = k.ID
	}
	out := []aliasEntry{}
	for _, a := range s.aliases {
		if filter != "" && a.KeyID != filter {
			continue
		}
		out = append(out, aliasEntry{
			AliasArn: s.aliasARN(a.Name), AliasName: a.Name,
			CreationDate: toEpoch(a.Created), LastUpdatedDate: toEpoch(a.Created),
			TargetKeyId: a.KeyID,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AliasName < out[j].AliasName })
	return struct {
		Aliases   []aliasEntry
		Truncated bool
	}{out, false}, nil
}
