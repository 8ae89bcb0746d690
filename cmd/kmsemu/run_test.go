package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/appsign/signer/internal/kmsemu/emutest"
)

func TestRefusesNonLoopback(t *testing.T) {
	for name, addr := range map[string]string{
		"all interfaces": "0.0.0.0:0",
		"empty host":     ":0",
		"public ip":      "192.0.2.1:0",
		"hostname":       "example.com:0",
		"no port":        "127.0.0.1",
	} {
		t.Run(name, func(t *testing.T) {
			err := run(t.Context(), []string{"--listen", addr}, io.Discard, io.Discard, func(string) string { return "" })
			if err == nil {
				t.Fatalf("run(--listen %s) succeeded", addr)
			}
		})
	}
}

func TestServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	env := func(k string) string {
		if k == secretEnv {
			return emutest.SecretAccessKey
		}
		return ""
	}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--access-key-id", emutest.AccessKeyID}, pw, io.Discard, env)
		pw.Close()
	}()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSpace(url)
	c := emutest.NewClient(url, emutest.AccessKeyID, emutest.SecretAccessKey)
	if _, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeSignVerify}); err != nil {
		t.Fatalf("CreateKey via %s: %v", url, err)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}
