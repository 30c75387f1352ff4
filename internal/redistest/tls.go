package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// CA is a certificate authority made for one test. It signs the certificates
// of the servers StartTLSServer starts; clients trust it through Pool, or
// through the PEM file CertFile writes (redis-cli's --cacert, a command's
// -tls-ca).
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	Pool *x509.CertPool // trusts the CA
}

// NewCA makes a certificate authority named name, valid for an hour around
// now.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{cert: cert, key: key, Pool: pool}
}

// CertFile writes the CA's certificate as a PEM file in a directory of t's
// and returns its path.
func (ca *CA) CertFile(t testing.TB) string {
	t.Helper()
	return writePEM(t, t.TempDir(), "ca.crt", "CERTIFICATE", ca.cert.Raw)
}

// serverFiles issues a certificate for 127.0.0.1 and writes it, its key and
// the CA's certificate into dir, as PEM files for redis-server.
func (ca *CA) serverFiles(t testing.TB, dir string) (certFile, keyFile, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "redis test server"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, "server.crt", "CERTIFICATE", der),
		writePEM(t, dir, "server.key", "EC PRIVATE KEY", keyDER),
		writePEM(t, dir, "ca.crt", "CERTIFICATE", ca.cert.Raw)
}

func writePEM(t testing.TB, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartTLSServer starts a redis-server with a plaintext port (Addr, the
// harness's) and a TLS port whose certificate, for 127.0.0.1, ca signed, and
// returns the server and the TLS port's address. Clients are not asked for a
// certificate. The config lines are StartServer's.
func StartTLSServer(t testing.TB, ca *CA, config ...string) (*Server, string) {
	t.Helper()
	certFile, keyFile, caFile := ca.serverFiles(t, t.TempDir())
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: find a free port for TLS: %v", err)
	}
	srv := StartServer(t, append([]string{
		"tls-port " + strconv.Itoa(port),
		"tls-cert-file " + certFile,
		"tls-key-file " + keyFile,
		"tls-ca-cert-file " + caFile,
		"tls-auth-clients no",
	}, config...)...)
	return srv, loopbackAddr(port)
}
