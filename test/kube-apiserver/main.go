// Command kube-apiserver-test runs a real kube-apiserver for Epictetus's tests, the way
// Kubernetes' own integration tests do (envtest-like): an embedded etcd
// (go.etcd.io/etcd/server/v3/embed) and the apiserver in process through
// k8s.io/kubernetes/cmd/kube-apiserver/app/testing.StartTestServer. Beside it run three of
// kube-controller-manager's controllers (controllers.go): EndpointSlice, ServiceAccount and the
// garbage collector. No other controller runs: nothing taints, deletes or garbage-collects
// Nodes by itself, no Pod is scheduled or run (Pods are created onto a node and their status
// written by the tests, as a kubelet would).
//
// Usage:
//
//	kube-apiserver-test -kubeconfig /tmp/x/kubeconfig [-port 0] [-controllers=false] [-v 0]
//
// Once the server is healthy it writes the kubeconfig (server URL, CA data and a bearer
// token of a system:masters user) and prints one JSON line on stdout:
//
//	{"event":"ready","url":"https://127.0.0.1:PORT","kubeconfig":"/tmp/x/kubeconfig","version":"v1.33.13"}
//
// The URL is a plain TCP relay in front of the apiserver, so the address and the TLS
// certificate survive a restart of the apiserver. Commands, one per line on stdin, each
// answered by one JSON line on stdout:
//
//	restart  tears the apiserver down (cutting every connection) and starts a new one on the
//	         same etcd and the same URL (connections made meanwhile wait for it): its watch
//	         cache is new, so a watch from an older resourceVersion gets a 410 "too old
//	         resource version" ERROR event.
//	compact  compacts etcd at its current revision ({"event":"compacted","revision":N}).
//	         With the watch cache on (the default) this alone expires no watch.
//
// SIGTERM, SIGINT or the end of stdin stop it cleanly (exit code 0).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	restclient "k8s.io/client-go/rest"
	"k8s.io/component-base/version"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

func main() {
	kubeconfigPath := flag.String("kubeconfig", "", "where to write the kubeconfig (required)")
	port := flag.Int("port", 0, "the port to listen on, on 127.0.0.1 (0: a free one)")
	dataDir := flag.String("data-dir", "", "folder for etcd's data and the certificates (default: a new temporary folder, removed at exit)")
	controllers := flag.Bool("controllers", true, "run the EndpointSlice, ServiceAccount and garbage-collector controllers")
	// klog's -v is registered by the testing packages with 5 as default: far too chatty.
	_ = flag.Set("v", "0")
	flag.Parse()
	if *kubeconfigPath == "" {
		fatalf("-kubeconfig is required")
	}
	if err := run(*kubeconfigPath, *port, *dataDir, *controllers); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kube-apiserver-test: "+format+"\n", args...)
	os.Exit(1)
}

var stdoutMu sync.Mutex

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	_, _ = os.Stdout.Write(append(b, '\n'))
}

func run(kubeconfigPath string, port int, dataDir string, controllers bool) error {
	removeDir := false
	if dataDir == "" {
		d, err := os.MkdirTemp("", "kube-apiserver-test-")
		if err != nil {
			return err
		}
		dataDir, removeDir = d, true
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	defer func() {
		if removeDir {
			_ = os.RemoveAll(dataDir)
		}
	}()

	etcd, etcdURL, err := startEtcd(filepath.Join(dataDir, "etcd"))
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	defer etcd.Close()

	creds, err := writeCredentials(dataDir)
	if err != nil {
		return err
	}

	relay, err := newRelay(port)
	if err != nil {
		return err
	}
	defer relay.close()
	go relay.serve()

	srv, err := startAPIServer(etcdURL, creds)
	if err != nil {
		return err
	}
	defer func() {
		relay.setBackend("") // cut the clients' connections first: the apiserver stops faster
		srv.stop()
	}()
	relay.setBackend(srv.address)

	serverURL := "https://" + relay.addr()
	if err := writeKubeconfig(kubeconfigPath, serverURL, creds); err != nil {
		return err
	}
	// Stopped before the apiserver (deferred later, so run first).
	ctx, stopControllers := context.WithCancel(context.Background())
	defer stopControllers()
	if controllers {
		if err := startControllers(ctx, controllerConfig(serverURL, creds)); err != nil {
			return fmt.Errorf("starting the controllers: %w", err)
		}
	}
	emit(map[string]any{"event": "ready", "url": serverURL, "kubeconfig": kubeconfigPath, "version": version.Get().GitVersion, "apiserver": "https://" + srv.address})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	commands := make(chan string)
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			commands <- scanner.Text()
		}
		close(commands)
	}()

	for {
		select {
		case sig := <-signals:
			fmt.Fprintf(os.Stderr, "kube-apiserver-test: %v: stopping\n", sig)
			return nil
		case cmd, ok := <-commands:
			if !ok {
				fmt.Fprintln(os.Stderr, "kube-apiserver-test: stdin closed: stopping")
				return nil
			}
			switch cmd {
			case "restart":
				t0 := time.Now()
				relay.setBackend("") // cut the open connections; new ones wait for the next apiserver
				srv.stop()
				next, err := startAPIServer(etcdURL, creds)
				if err != nil {
					return fmt.Errorf("restarting: %w", err)
				}
				srv = next
				relay.setBackend(srv.address)
				emit(map[string]any{"event": "restarted", "ms": time.Since(t0).Milliseconds(), "apiserver": "https://" + srv.address})
			case "compact":
				rev, err := compact(etcd)
				if err != nil {
					emit(map[string]any{"event": "error", "command": cmd, "message": err.Error()})
					continue
				}
				emit(map[string]any{"event": "compacted", "revision": rev})
			case "":
			default:
				emit(map[string]any{"event": "error", "command": cmd, "message": "unknown command"})
			}
		}
	}
}

// ---------------------------------------------------------------- etcd

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd runs a single-member etcd like k8s.io/apiserver/pkg/storage/etcd3/testserver
// does (no fsync: its data is thrown away), without needing a *testing.T.
func startEtcd(dir string) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("etcd took more than 60 s to start")
	}
	go func() {
		if err, ok := <-e.Err(); ok && err != nil {
			fmt.Fprintf(os.Stderr, "kube-apiserver-test: etcd: %v\n", err)
		}
	}()
	return e, clientURL.String(), nil
}

// compact compacts etcd at its current revision: every older resourceVersion is gone
// from etcd (not from the apiserver's watch cache).
func compact(e *embed.Etcd) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev := e.Server.KV().Rev()
	if _, err := e.Server.Compact(ctx, &etcdserverpb.CompactionRequest{Revision: rev, Physical: true}); err != nil {
		return 0, err
	}
	return rev, nil
}

// ---------------------------------------------------------------- the apiserver

type credentials struct {
	caPEM, certFile, keyFile, tokenFile, token string
}

// writeCredentials makes a CA, a serving certificate for 127.0.0.1 and localhost signed by
// it, and a static token of a system:masters user: all stable across restarts.
func writeCredentials(dir string) (credentials, error) {
	var c credentials
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kube-apiserver-test-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(24 * 365 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return c, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return c, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.Add(24 * 365 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return c, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return c, err
	}
	c.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	c.certFile = filepath.Join(dir, "serving.crt")
	c.keyFile = filepath.Join(dir, "serving.key")
	c.tokenFile = filepath.Join(dir, "tokens.csv")
	tokenBytes := make([]byte, 24)
	if _, err := rand.Read(tokenBytes); err != nil {
		return c, err
	}
	c.token = hex.EncodeToString(tokenBytes)
	files := map[string][]byte{
		c.certFile:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		c.keyFile:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		c.tokenFile: []byte(c.token + `,test-admin,test-admin-uid,"system:masters"` + "\n"),
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return c, err
		}
	}
	return c, nil
}

func writeKubeconfig(path, serverURL string, c credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kube-apiserver-test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: test-admin
  user:
    token: %s
contexts:
- name: kube-apiserver-test
  context:
    cluster: kube-apiserver-test
    user: test-admin
    namespace: default
current-context: kube-apiserver-test
`, serverURL, base64.StdEncoding.EncodeToString([]byte(c.caPEM)), c.token)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// controllerConfig is how the controllers reach the apiserver: through the relay, as the
// system:masters user, with kube-controller-manager's default client rate limits.
func controllerConfig(serverURL string, c credentials) *restclient.Config {
	return &restclient.Config{
		Host:            serverURL,
		BearerToken:     c.token,
		TLSClientConfig: restclient.TLSClientConfig{CAData: []byte(c.caPEM)},
		QPS:             50,
		Burst:           100,
	}
}

type apiServer struct {
	address  string
	tb       *processTB
	teardown func()
	once     sync.Once
}

func startAPIServer(etcdURL string, c credentials) (*apiServer, error) {
	storage := storagebackend.NewDefaultConfig("/registry", nil)
	storage.Transport.ServerList = []string{etcdURL}
	tb := newProcessTB("kube-apiserver")
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	flags := []string{
		"--tls-cert-file=" + c.certFile,
		"--tls-private-key-file=" + c.keyFile,
		"--token-auth-file=" + c.tokenFile,
		"--authorization-mode=RBAC",
	}
	result, err := kubeapiservertesting.StartTestServer(tb, opts, flags, storage)
	if err != nil {
		tb.runCleanups()
		return nil, err
	}
	return &apiServer{
		address:  net.JoinHostPort("127.0.0.1", strconv.Itoa(result.ServerOpts.SecureServing.BindPort)),
		tb:       tb,
		teardown: result.TearDownFn,
	}, nil
}

// stop tears the apiserver down (once), giving up waiting after 30 s.
func (s *apiServer) stop() {
	s.once.Do(s.stopOnce)
}

func (s *apiServer) stopOnce() {
	done := make(chan struct{})
	go func() {
		s.teardown()
		s.tb.runCleanups()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "kube-apiserver-test: the apiserver took more than 30 s to stop; going on")
	}
}

// ---------------------------------------------------------------- the relay

// relay forwards TCP connections to the current apiserver. Changing the backend cuts every
// open connection, as a restart would; while there is none (during a restart) new
// connections wait for the next one, up to a minute, like clients retrying would.
type relay struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	ready   chan struct{} // closed once there is a backend
	closed  chan struct{}
	conns   map[net.Conn]struct{}
}

func newRelay(port int) (*relay, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return &relay{ln: ln, ready: make(chan struct{}), closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}, nil
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) setBackend(backend string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hadBackend := r.backend != ""
	r.backend = backend
	for c := range r.conns {
		_ = c.Close()
	}
	clear(r.conns)
	switch {
	case backend != "" && !hadBackend:
		close(r.ready)
	case backend == "" && hadBackend:
		r.ready = make(chan struct{})
	}
}

func (r *relay) close() {
	_ = r.ln.Close()
	close(r.closed)
	r.setBackend("")
}

func (r *relay) untrack(conns ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range conns {
		delete(r.conns, c)
		_ = c.Close()
	}
}

// current waits for a backend (at most a minute) and returns it, or "" when there is none.
func (r *relay) current() string {
	r.mu.Lock()
	backend, ready := r.backend, r.ready
	r.mu.Unlock()
	if backend != "" {
		return backend
	}
	select {
	case <-ready:
	case <-r.closed:
		return ""
	case <-time.After(time.Minute):
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.backend
}

func (r *relay) serve() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.handle(client)
	}
}

func (r *relay) handle(client net.Conn) {
	backend := r.current()
	if backend == "" {
		_ = client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	r.mu.Lock()
	if r.backend != backend { // restarted while dialling
		r.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	r.conns[client], r.conns[server] = struct{}{}, struct{}{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if tcp, ok := dst.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
	}
	go pipe(server, client)
	go pipe(client, server)
	wg.Wait()
	r.untrack(client, server)
}
