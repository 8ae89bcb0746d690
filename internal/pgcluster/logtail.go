package pgcluster

import (
	"io"
	"os"
	"strings"
)

// tailBytes bounds how much of the server log an error carries.
const tailBytes = 2048

// logTail returns the end of the server log, formatted to be appended to an
// error, or "" when there is no log. The log holds no secrets: the cluster
// has no passwords.
func (c *Cluster) logTail() string {
	f, err := os.Open(c.logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-tailBytes, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return ""
	}
	text := string(buf)
	if off > 0 {
		// Drop the partial first line.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	return "\nserver log " + c.logFile + " ends with:\n" + text
}
