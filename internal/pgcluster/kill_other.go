//go:build !unix

package pgcluster

import "errors"

// Kill is not supported off unix (Start is not either).
func (c *Cluster) Kill() error {
	return errors.New("pgcluster: only unix systems are supported")
}
