package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NginxEnvVar names the nginx binary the test runs (make test sets it from
// scripts/nginx.sh).
const NginxEnvVar = "RISKMAP_NGINX"

// nginxSite is what renderSite puts into the shipped deploy/nginx.conf.
type nginxSite struct {
	Upstreams []string // host:port of each replica
	Ingest    string   // host:port of the replica with ingest on
	HTTPAddr  string   // 127.0.0.1:port of the plain-HTTP server (the redirect)
	HTTPSAddr string   // 127.0.0.1:port of the TLS server
	Cert, Key string   // PEM files
	AccessLog string
	ErrorLog  string
}

// upstreamLine matches the shipped file's example replica lines.
var upstreamLine = regexp.MustCompile(`(?m)^(\s*)server 192\.0\.2\.\d+:8080( [^;]*);.*\n`)

// renderSite is the shipped deploy/nginx.conf with only its "test:"-marked lines
// replaced: the three example replicas by s.Upstreams (keeping their parameters),
// the listen addresses (IPv6 ones dropped), the certificate and the log paths. It
// fails the test when a marked line is not found as expected, so the shipped file
// and this test cannot drift apart.
func renderSite(t *testing.T, shipped string, s nginxSite) string {
	t.Helper()
	ms := upstreamLine.FindAllStringSubmatchIndex(shipped, -1)
	if len(ms) != 3 {
		t.Fatalf("deploy/nginx.conf: want 3 example replica lines (server 192.0.2.x:8080 ...), found %d", len(ms))
	}
	indent := shipped[ms[0][2]:ms[0][3]]
	params := shipped[ms[0][4]:ms[0][5]]
	var ups strings.Builder
	for _, u := range s.Upstreams {
		fmt.Fprintf(&ups, "%sserver %s%s;\n", indent, u, params)
	}
	out := shipped[:ms[0][0]] + ups.String() + shipped[ms[2][1]:]
	repl := []struct{ marker, line string }{
		{"# test: ingest replica", "server " + s.Ingest + ";"},
		{"# test: http listen v6", ""},
		{"# test: https listen v6", ""},
		{"# test: http listen", "listen " + s.HTTPAddr + ";"},
		{"# test: https listen", "listen " + s.HTTPSAddr + " ssl http2;"},
		{"# test: certificate", "ssl_certificate " + s.Cert + ";"},
		{"# test: key", "ssl_certificate_key " + s.Key + ";"},
		{"# test: access log", "access_log " + s.AccessLog + ";"},
		{"# test: error log", "error_log " + s.ErrorLog + " info;"},
	}
	lines := strings.Split(out, "\n")
	for _, r := range repl {
		n := 0
		for i, l := range lines {
			if strings.HasSuffix(strings.TrimSpace(l), r.marker) {
				lines[i] = "    " + r.line
				n++
			}
		}
		if n != 1 {
			t.Fatalf("deploy/nginx.conf: want one line marked %q, found %d", r.marker, n)
		}
	}
	return strings.Join(lines, "\n")
}

// startNginx writes the rendered site into dir with a main configuration around it
// (as Debian's /etc/nginx/nginx.conf includes conf.d/*.conf in its http block) and
// runs nginx in the foreground as the current user, prefix, pid file, temporary
// files and logs all in dir. It waits until the HTTPS address accepts connections;
// nginx is stopped (SIGQUIT, then SIGKILL) when the test ends.
func startNginx(t *testing.T, bin, dir, site, httpsAddr string) {
	t.Helper()
	sitePath := filepath.Join(dir, "riskmap.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		// As root nginx would run its workers as nobody, who cannot enter the test's
		// private temporary directory: keep them as the current user.
		user = "user root root;\n"
	}
	main := fmt.Sprintf(`%sworker_processes 1;
events { worker_connections 1024; }
http {
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    access_log %[2]s/access.log;
    include %[3]s;
}
`, user, dir, sitePath)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	global := fmt.Sprintf("daemon off; pid %s; error_log %s info;", filepath.Join(dir, "nginx.pid"), errLog)
	if out, err := exec.Command(bin, "-t", "-p", dir, "-e", errLog, "-c", conf, "-g", global).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n--- site:\n%s", err, out, site)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", errLog, "-c", conf, "-g", global)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logs, _ := os.ReadFile(errLog)
			t.Logf("nginx output:\n%s\nnginx error log:\n%s", out.String(), logs)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", httpsAddr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			logs, _ := os.ReadFile(errLog)
			t.Fatalf("nginx exited: %s\n%s", out.String(), logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not accept connections on %s after 15 s: %v", httpsAddr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key into dir
// and returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "riskmap test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// tlsClient is an HTTP/1.1 client trusting pool that does not follow redirects and
// does not ask for gzip by itself (tests set Accept-Encoding when they mean it).
func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
