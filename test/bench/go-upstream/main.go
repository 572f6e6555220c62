// The bench's default upstream: Go's net/http, the HTTP/2 and TLS stack kube-apiserver serves
// with, so that the bench measures the proxies rather than a Node upstream sharing their two
// cores. It serves what test/bench/upstream.ts serves, byte for byte where it matters:
//
//	GET  /version                               the example API server's version object
//	GET  /test/list?bytes=N, LIST_PATH?bytes=N  a PodList of about N bytes (examples/api-server/pod-list.ts)
//	GET  WATCH_PATH?watch=1                      a watch, headers flushed, held open
//	POST WATCH_EVENT_PATH?name=X                 one MODIFIED event to every open watch; {"watchers":n}
//	POST WATCH_EVENTS_PATH?per-second=R&seconds=S R events a second to every open watch for S s, each
//	                                             stamped with its write time; {"watchers":n} once started
//	GET  UPGRADE_PATH?bytes=N + Upgrade          101 SPDY/3.1, then N bytes read and dropped, then the ack
//
// Callers prove themselves with a client certificate chained to the CA or the bearer token.
// Usage: go-upstream --pki-dir DIR --token TOKEN; prints "listening on https://127.0.0.1:PORT".
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kept equal to test/bench/cells.ts.
const (
	listPath        = "/api/v1/namespaces/bench/configmaps"
	watchPath       = "/api/v1/namespaces/bench/pods"
	watchEventPath  = "/test/watch-event"
	watchEventsPath = "/test/watch-events"
	sentAnnotation  = "bench.kube-auth-proxy/sent-unix-us"
	upgradePath     = "/api/v1/namespaces/default/pods/p/portforward"
	upgradeAck      = "received\n"
	maxListBytes    = 256 * 1024 * 1024
)

var versionBody = []byte(`{"major":"1","minor":"33","gitVersion":"v1.33.0-kube-auth-proxy-example","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.24.0","compiler":"gc","platform":"linux/amd64"}`)

// benchPod is the same JSON, key for key, as benchPod in examples/api-server/pod-list.ts.
func benchPod(i int) string {
	return fmt.Sprintf(`{"metadata":{"name":"bench-%d","namespace":"bench","uid":"00000000-0000-4000-8000-%012d","resourceVersion":"%d","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"app":"bench","pod-template-hash":"5d8f7c9b6"}},"spec":{"containers":[{"name":"main","image":"registry.k8s.io/pause:3.10","resources":{}}],"nodeName":"node-%d"},"status":{"phase":"Running","podIP":"10.0.%d.%d"}}`,
		i, i, 1000+i, i%10, (i>>8)&255, i&255)
}

// lists caches each size's body: the bench asks for two sizes, over and over.
var lists sync.Map

func listBody(bytes int) []byte {
	if cached, ok := lists.Load(bytes); ok {
		return cached.([]byte)
	}
	items := []string{}
	for length := 100; length < bytes; {
		pod := benchPod(len(items))
		items = append(items, pod)
		length += len(pod) + 1
	}
	body := []byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1000"},"items":[` + strings.Join(items, ",") + `]}`)
	lists.Store(bytes, body)
	return body
}

func auditID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// send answers as kube-apiserver does, with the headers it sets on every response.
func send(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Audit-Id", auditID())
	h.Set("Cache-Control", "no-cache, private")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// event makes an event's line when its watch writes it, so that a stamp in it is the write time.
type event func() []byte

// watchers holds the open watches; fanOut and paced write lines to them.
type watchers struct {
	mu   sync.Mutex
	open map[chan event]struct{}
}

func (ws *watchers) serve(w http.ResponseWriter, r *http.Request) {
	events := make(chan event, 16)
	ws.mu.Lock()
	ws.open[events] = struct{}{}
	ws.mu.Unlock()
	defer func() {
		ws.mu.Lock()
		delete(ws.open, events)
		ws.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Audit-Id", auditID())
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case next := <-events:
			if _, err := w.Write(next()); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func (ws *watchers) fanOut(w http.ResponseWriter, r *http.Request) {
	event := map[string]any{"type": "MODIFIED", "object": map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": r.URL.Query().Get("name"), "namespace": "bench"}}}
	line, _ := json.Marshal(event)
	line = append(line, '\n')
	ws.mu.Lock()
	n := len(ws.open)
	for events := range ws.open {
		select {
		case events <- func() []byte { return line }:
		default: // a watch this far behind is not read by the bench
		}
	}
	ws.mu.Unlock()
	send(w, http.StatusOK, []byte(fmt.Sprintf(`{"watchers":%d}`, n)))
}

// stampedEvent is a MODIFIED event carrying the time its watch writes it, in µs since the epoch.
func stampedEvent() []byte {
	return []byte(fmt.Sprintf(`{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"bench-rate","namespace":"bench","annotations":{%q:"%d"}}}}`+"\n",
		sentAnnotation, time.Now().UnixMicro()))
}

// paced starts perSecond events a second on every watch open now, for the given seconds, and
// answers at once. Each watch's events are spread evenly over the second (watch i is due i/n of
// a period after watch 0), so that the proxies see a steady rate rather than one burst a second.
func (ws *watchers) paced(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perSecond, err1 := strconv.ParseFloat(q.Get("per-second"), 64)
	seconds, err2 := strconv.ParseFloat(q.Get("seconds"), 64)
	if err1 != nil || err2 != nil || perSecond <= 0 || seconds <= 0 {
		send(w, http.StatusBadRequest, []byte(`{"kind":"Status","code":400}`))
		return
	}
	ws.mu.Lock()
	targets := make([]chan event, 0, len(ws.open))
	for events := range ws.open {
		targets = append(targets, events)
	}
	ws.mu.Unlock()
	n := len(targets)
	if n > 0 {
		go func() {
			period := time.Duration(float64(time.Second) / perSecond)
			total := int(perSecond*seconds) * n
			start := time.Now()
			for k := 0; k < total; k++ {
				// The k-th event overall: period k/n, watch k%n.
				if wait := time.Until(start.Add(period * time.Duration(k) / time.Duration(n))); wait > 0 {
					time.Sleep(wait)
				}
				select {
				case targets[k%n] <- stampedEvent:
				default: // a watch this far behind, or closed: the bench counts what it missed
				}
			}
		}()
	}
	send(w, http.StatusOK, []byte(fmt.Sprintf(`{"watchers":%d}`, n)))
}

// upgrade answers 101, reads and drops N bytes, and acks: the client's clock stops when every
// byte has crossed the proxy. No SPDY framing: proxies pipe raw bytes after the 101.
func upgrade(w http.ResponseWriter, r *http.Request) {
	expected, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || expected <= 0 || r.ProtoMajor != 1 {
		send(w, http.StatusNotFound, []byte(`{"kind":"Status","code":404}`))
		return
	}
	conn, buffered, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n"))
	if _, err := io.CopyN(io.Discard, bufio.NewReaderSize(buffered, 64*1024), expected); err != nil {
		return
	}
	_, _ = conn.Write([]byte(upgradeAck))
}

func handler(token string, ws *watchers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		certified := r.TLS != nil && len(r.TLS.VerifiedChains) > 0
		if !certified && r.Header.Get("Authorization") != "Bearer "+token {
			send(w, http.StatusUnauthorized, []byte(`{"kind":"Status","code":401}`))
			return
		}
		q := r.URL.Query()
		switch {
		case r.URL.Path == upgradePath && strings.EqualFold(r.Header.Get("Connection"), "upgrade"):
			upgrade(w, r)
		case r.URL.Path == watchPath && q.Get("watch") == "1":
			ws.serve(w, r)
		case r.URL.Path == watchEventPath && r.Method == http.MethodPost:
			ws.fanOut(w, r)
		case r.URL.Path == watchEventsPath && r.Method == http.MethodPost:
			ws.paced(w, r)
		case r.URL.Path == "/version":
			send(w, http.StatusOK, versionBody)
		case r.URL.Path == listPath || r.URL.Path == "/test/list":
			bytes, err := strconv.Atoi(q.Get("bytes"))
			if err != nil || bytes <= 0 || bytes > maxListBytes {
				send(w, http.StatusNotFound, []byte(`{"kind":"Status","code":404}`))
				return
			}
			send(w, http.StatusOK, listBody(bytes))
		default:
			send(w, http.StatusNotFound, []byte(`{"kind":"Status","code":404}`))
		}
	})
}

func main() {
	pkiDir := flag.String("pki-dir", "", "directory with ca.crt, server.crt and server.key (examples/pki.ts names)")
	token := flag.String("token", "", "the bearer token accepted besides client certificates")
	flag.Parse()
	if *pkiDir == "" || *token == "" {
		log.Fatal("usage: go-upstream --pki-dir DIR --token TOKEN")
	}
	caPEM, err := os.ReadFile(filepath.Join(*pkiDir, "ca.crt"))
	if err != nil {
		log.Fatal(err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(caPEM) {
		log.Fatalf("%s: no certificate", filepath.Join(*pkiDir, "ca.crt"))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(*pkiDir, "server.crt"), filepath.Join(*pkiDir, "server.key"))
	if err != nil {
		log.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{
		Handler: handler(*token, &watchers{open: map[chan event]struct{}{}}),
		// As kube-apiserver: ask for a certificate, verify one if given, else fall back to the token.
		// h2 and http/1.1 by ALPN, as net/http sets up by default; 250 streams per connection.
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: cas, ClientAuth: tls.VerifyClientCertIfGiven, NextProtos: []string{"h2", "http/1.1"}},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	fmt.Printf("listening on https://%s\n", listener.Addr().String())
	log.Fatal(server.ServeTLS(listener, "", ""))
}
