//go:build unix

package pgcluster

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// serverUser says which OS user runs initdb and postgres: nil means the
// current user; as root it is the `postgres` user, because PostgreSQL refuses
// to run as root.
type serverUser struct {
	uid, gid uint32
}

func lookupServerUser() (*serverUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: look up OS user postgres: %w: %w", ErrNoServerUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: uid %q of OS user postgres: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: gid %q of OS user postgres: %w", u.Gid, err)
	}
	return &serverUser{uid: uint32(uid), gid: uint32(gid)}, nil
}

// apply makes cmd run as the server user, with no supplementary groups.
func (u *serverUser) apply(cmd *exec.Cmd) {
	if u == nil {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}},
	}
}

// own gives path to the server user.
func (u *serverUser) own(path string) error {
	if u == nil {
		return nil
	}
	if err := os.Lchown(path, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("pgcluster: give %s to OS user postgres: %w", path, err)
	}
	return nil
}
