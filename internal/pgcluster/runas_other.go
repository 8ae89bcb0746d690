//go:build !unix

package pgcluster

import (
	"errors"
	"os/exec"
)

type serverUser struct{}

func lookupServerUser() (*serverUser, error) {
	return nil, errors.New("pgcluster: only unix systems are supported")
}

func (u *serverUser) apply(*exec.Cmd) {}

func (u *serverUser) own(string) error { return nil }
