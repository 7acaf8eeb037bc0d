package payby_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exitlane/exitlane/payby"
)

func TestKeys(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	priv, pub, err := payby.WriteKeyPair(dir, "merchant")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(priv)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", fi.Mode())
	}
	k, err := payby.LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := payby.LoadPublicKey(pub)
	if err != nil || !p.Equal(&k.PublicKey) || k.N.BitLen() != 2048 {
		t.Fatalf("pair mismatch: %v", err)
	}
	if _, _, err := payby.WriteKeyPair(dir, "merchant"); err == nil {
		t.Fatal("overwrote an existing key")
	}
	// PKCS#1 works too.
	pkcs1 := filepath.Join(dir, "pkcs1.pem")
	os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)}), 0o600)
	if k1, err := payby.LoadPrivateKey(pkcs1); err != nil || !k1.Equal(merchantKey) {
		t.Fatalf("pkcs1: %v", err)
	}
	// Readable by others: refused, naming file and mode.
	os.Chmod(pkcs1, 0o644)
	_, err = payby.LoadPrivateKey(pkcs1)
	if !errors.Is(err, payby.ErrKeyPermissions) || !strings.Contains(err.Error(), pkcs1) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("%v", err)
	}
	// A public key where a private one is expected, and garbage.
	os.Chmod(pub, 0o600)
	if _, err := payby.LoadPrivateKey(pub); err == nil {
		t.Fatal("public key accepted as private")
	}
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("hello"), 0o600)
	if _, err := payby.LoadPublicKey(junk); err == nil {
		t.Fatal("junk accepted")
	}
	if _, err := payby.LoadPrivateKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v", err)
	}
}
