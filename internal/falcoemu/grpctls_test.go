package falcoemu

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/falcosecurity/client-go/pkg/api/outputs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate.
func testPKI(t *testing.T) (dir string, ca *x509.CertPool, client tls.Certificate) {
	t.Helper()
	dir = t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	sDER, sKey := issue("server", 2, x509.ExtKeyUsageServerAuth)
	write("server.crt", "CERTIFICATE", sDER)
	kb, _ := x509.MarshalECPrivateKey(sKey)
	write("server.key", "EC PRIVATE KEY", kb)
	cDER, cKey := issue("client", 3, x509.ExtKeyUsageClientAuth)
	ca = x509.NewCertPool()
	ca.AddCert(caCert)
	client = tls.Certificate{Certificate: [][]byte{cDER}, PrivateKey: cKey}
	return dir, ca, client
}

func TestGRPCMutualTLS(t *testing.T) {
	dir, ca, clientCert := testPKI(t)
	s := startServer(t, GRPCServerConfig{Addr: "127.0.0.1:0",
		CertFile: filepath.Join(dir, "server.crt"), KeyFile: filepath.Join(dir, "server.key"), ClientCAFile: filepath.Join(dir, "ca.crt")})
	g := testGen(t, 31)
	enqueueN(t, s, g, 20)

	get := func(certs []tls.Certificate) (int, error) {
		cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca, Certificates: certs})))
		if err != nil {
			return 0, err
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stream, err := outputs.NewServiceClient(cc).Get(ctx, &outputs.Request{})
		if err != nil {
			return 0, err
		}
		n := 0
		for {
			if _, err := stream.Recv(); err == io.EOF {
				return n, nil
			} else if err != nil {
				return n, err
			}
			n++
		}
	}
	if _, err := get(nil); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	n, err := get([]tls.Certificate{clientCert})
	if err != nil || n != 20 {
		t.Fatalf("got %d: %v", n, err)
	}
}
