package payby

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeyBits is the size of keys made by GenerateKey; PayBy asks for at least
// 2048 bits.
const KeyBits = 2048

// ErrKeyPermissions is returned by LoadPrivateKey for a private key file that
// other users can read.
var ErrKeyPermissions = errors.New("private key file is readable by group or others")

// LoadPrivateKey reads an RSA private key from a PEM file in PKCS#8
// ("BEGIN PRIVATE KEY", what PayBy's Java SDK expects) or PKCS#1 ("BEGIN RSA
// PRIVATE KEY") form. It refuses a file that group or others may read,
// naming the file and its mode, because the key signs payments.
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("load private key %s: mode %04o: %w (run: chmod 600 %s)", path, perm, ErrKeyPermissions, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	return key, nil
}

// ParsePrivateKey parses a PEM-encoded PKCS#8 or PKCS#1 RSA private key.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PKCS#8 key is %T, not RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s block is neither a PKCS#8 nor a PKCS#1 RSA private key", block.Type)
	}
	return k, nil
}

// LoadPublicKey reads an RSA public key from a PEM file in PKIX
// (X.509 SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") form, the form PayBy's
// portal hands out.
func LoadPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("load public key %s: %w", path, err)
	}
	return key, nil
}

// ParsePublicKey parses a PEM-encoded PKIX RSA public key. A PKCS#1
// "RSA PUBLIC KEY" block is accepted too.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, not RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s block is not a PKIX RSA public key", block.Type)
	}
	return k, nil
}

// GenerateKey makes a new RSA-2048 key.
func GenerateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// EncodePrivateKey returns key as a PKCS#8 PEM block.
func EncodePrivateKey(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey returns pub as a PKIX PEM block.
func EncodePublicKey(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// WriteKeyPair generates a key pair and writes it to dir as
// <name>_private.pem (PKCS#8, mode 0600) and <name>_public.pem (PKIX, mode
// 0644). It refuses to overwrite existing files and returns the paths.
func WriteKeyPair(dir, name string) (privPath, pubPath string, err error) {
	key, err := GenerateKey()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("write key pair: %w", err)
	}
	privPath = filepath.Join(dir, name+"_private.pem")
	pubPath = filepath.Join(dir, name+"_public.pem")
	privPEM, err := EncodePrivateKey(key)
	if err != nil {
		return "", "", err
	}
	pubPEM, err := EncodePublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	if err := writeNew(privPath, privPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write key pair: %w", err)
	}
	if err := writeNew(pubPath, pubPEM, 0o644); err != nil {
		os.Remove(privPath)
		return "", "", fmt.Errorf("write key pair: %w", err)
	}
	return privPath, pubPath, nil
}

// writeNew creates path with exactly perm (not subject to the umask's
// widening) and fails if it exists.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
