// kap-audit-check reads an audit log that kube-auth-proxy wrote (audit.k8s.io/v1 Event, one JSON
// object a line) with Kubernetes' own code, and checks it against the audit policy it was written
// with, evaluated by Kubernetes' own policy checker (k8s.io/apiserver/pkg/audit/policy):
//
//   - every line decodes strictly into k8s.io/apiserver/pkg/apis/audit/v1.Event (no unknown
//     field, kind Event, apiVersion audit.k8s.io/v1, one object a line), and encodes back to
//     the same JSON (so no field relied on encoding/json's case-insensitive names, and
//     timestamps are metav1.MicroTime as kube-apiserver writes them);
//   - its level is the level the policy gives the request (rebuilt from the event as
//     k8s.io/apiserver/pkg/endpoints/filters.GetAuthorizerAttributes builds it), and its stage
//     is not one the policy omits for it.
//
// It is built by test/real-apiserver/audit.real.ts in GOPATH mode inside the vendored
// Kubernetes 1.20 tree (so that the k8s.io imports are the vendored copies kube-apiserver is
// built from). Usage: kap-audit-check AUDIT_LOG POLICY_FILE. Prints one line per problem
// ("line N: …") and a summary ("N events decoded, M checked against the policy"); exits 0 when
// there is no problem, 1 when there is one, 2 when the files cannot be read.
//
// `kap-audit-check levels POLICY_FILE AUDIT_LOG` only evaluates: what POLICY_FILE gives each
// event's request (see levels), e.g. the cluster's own policy for the proxy's events, or the
// proxy's policy for kube-apiserver's events, whose user is the one the server authenticated.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

const usage = `usage: kap-audit-check AUDIT_LOG POLICY_FILE
       kap-audit-check levels POLICY_FILE AUDIT_LOG`

func main() {
	if len(os.Args) == 4 && os.Args[1] == "levels" {
		levels(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	check(os.Args[1], os.Args[2])
}

// levels prints, for every event of an audit log (the proxy's or kube-apiserver's own), what
// the policy gives the request it records, as one JSON object a line:
// {"line":N,"auditID":…,"stage":…,"level":…,"omitStages":[…]}. The events are decoded leniently
// (unknown fields ignored): this mode only evaluates; check is the one that validates.
func levels(policyPath, logPath string) {
	p, err := policy.LoadPolicyFromFile(policyPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "policy: %v\n", err)
		os.Exit(2)
	}
	checker := policy.NewChecker(p)
	text, err := os.ReadFile(logPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "audit log: %v\n", err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for i, line := range bytes.Split(text, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		event := &auditv1.Event{}
		if err := json.Unmarshal(line, event); err != nil {
			fmt.Fprintf(os.Stderr, "line %d: %v\n", i+1, err)
			os.Exit(1)
		}
		level, omitStages := checker.LevelAndStages(attributesOf(event))
		stages := make([]string, 0, len(omitStages))
		for _, stage := range omitStages {
			stages = append(stages, string(stage))
		}
		sort.Strings(stages)
		if err := out.Encode(map[string]interface{}{
			"line": i + 1, "auditID": event.AuditID, "stage": event.Stage, "level": level, "omitStages": stages,
		}); err != nil {
			fmt.Fprintf(os.Stderr, "stdout: %v\n", err)
			os.Exit(2)
		}
	}
}

// check validates every line of the proxy's log and its level and stage against the policy.
func check(logPath, policyPath string) {

	// The loader kube-apiserver uses for --audit-policy-file: decode, validate, at least one rule.
	p, err := policy.LoadPolicyFromFile(policyPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "policy: %v\n", err)
		os.Exit(2)
	}
	checker := policy.NewChecker(p)

	file, err := os.Open(logPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "audit log: %v\n", err)
		os.Exit(2)
	}
	defer file.Close()

	reader := bufio.NewReader(file)
	problems, decoded, checked, lineNo := 0, 0, 0, 0
	report := func(format string, args ...interface{}) {
		problems++
		fmt.Printf("line %d: "+format+"\n", append([]interface{}{lineNo}, args...)...)
	}
	for {
		line, readErr := reader.ReadBytes('\n')
		if len(line) == 0 && readErr == io.EOF {
			break
		}
		if readErr != nil && readErr != io.EOF {
			fmt.Fprintf(os.Stderr, "audit log: %v\n", readErr)
			os.Exit(2)
		}
		lineNo++
		if readErr == io.EOF {
			report("no newline at the end of the last line")
		}
		line = bytes.TrimSuffix(line, []byte("\n"))

		event, err := decodeStrict(line)
		if err != nil {
			report("%v", err)
			continue
		}
		decoded++

		if diff := reencodeDiff(line, event); diff != "" {
			report("auditID %s: encoding the decoded Event again differs from the line: %s", event.AuditID, diff)
		}

		level, omitStages := checker.LevelAndStages(attributesOf(event))
		checked++
		if string(level) != string(event.Level) {
			report("auditID %s (%s %s, stage %s): level %q, but the policy gives %q", event.AuditID, event.Verb, event.RequestURI, event.Stage, event.Level, level)
		}
		for _, stage := range omitStages {
			if string(stage) == string(event.Stage) {
				report("auditID %s (%s %s): stage %s is omitted by the policy for this request", event.AuditID, event.Verb, event.RequestURI, event.Stage)
			}
		}
		if readErr == io.EOF {
			break
		}
	}

	fmt.Printf("%d events decoded, %d checked against the policy\n", decoded, checked)
	if problems > 0 {
		fmt.Printf("%d problem(s)\n", problems)
		os.Exit(1)
	}
}

// decodeStrict decodes one line into the versioned Event: unknown fields, trailing data, a wrong
// kind or apiVersion are errors, as are a level or stage that are not among the API's constants.
func decodeStrict(line []byte) (*auditv1.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	event := &auditv1.Event{}
	if err := dec.Decode(event); err != nil {
		return nil, fmt.Errorf("decoding into audit/v1.Event: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the Event object")
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("data after the Event object: %q", rest)
	}
	if event.Kind != "Event" {
		return nil, fmt.Errorf("kind %q, want Event", event.Kind)
	}
	if event.APIVersion != auditv1.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("apiVersion %q, want %s", event.APIVersion, auditv1.SchemeGroupVersion.String())
	}
	switch event.Level {
	case auditv1.LevelMetadata, auditv1.LevelRequest, auditv1.LevelRequestResponse:
	default:
		return nil, fmt.Errorf("level %q is not one an event can have (Metadata, Request, RequestResponse)", event.Level)
	}
	switch event.Stage {
	case auditv1.StageRequestReceived, auditv1.StageResponseStarted, auditv1.StageResponseComplete, auditv1.StagePanic:
	default:
		return nil, fmt.Errorf("stage %q is not one of RequestReceived, ResponseStarted, ResponseComplete, Panic", event.Stage)
	}
	if event.AuditID == "" {
		return nil, fmt.Errorf("auditID is empty")
	}
	return event, nil
}

// reencodeDiff encodes the Event again and compares it with the line as JSON values; returns
// where they first differ, or "" when they are equal.
func reencodeDiff(line []byte, event *auditv1.Event) string {
	again, err := json.Marshal(event)
	if err != nil {
		return fmt.Sprintf("encoding: %v", err)
	}
	var original, reencoded interface{}
	if err := json.Unmarshal(line, &original); err != nil {
		return fmt.Sprintf("line: %v", err)
	}
	if err := json.Unmarshal(again, &reencoded); err != nil {
		return fmt.Sprintf("re-encoded: %v", err)
	}
	return firstDiff("", original, reencoded)
}

func firstDiff(path string, a, b interface{}) string {
	am, aIsMap := a.(map[string]interface{})
	bm, bIsMap := b.(map[string]interface{})
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, aok := am[k]
			bv, bok := bm[k]
			switch {
			case !aok:
				return fmt.Sprintf("%s.%s: absent in the line, %s when encoded again", path, k, short(bv))
			case !bok:
				return fmt.Sprintf("%s.%s: %s in the line, absent when encoded again", path, k, short(av))
			}
			if d := firstDiff(path+"."+k, av, bv); d != "" {
				return d
			}
		}
		return ""
	}
	al, aIsList := a.([]interface{})
	bl, bIsList := b.([]interface{})
	if aIsList && bIsList && len(al) == len(bl) {
		for i := range al {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	if path == "" {
		path = "."
	}
	return fmt.Sprintf("%s: %s in the line, %s when encoded again", path, short(a), short(b))
}

func short(v interface{}) string {
	text, _ := json.Marshal(v)
	if len(text) > 200 {
		return string(text[:200]) + "…"
	}
	return string(text)
}

// attributesOf rebuilds what kube-apiserver's audit filter hands the policy checker
// (filters.GetAuthorizerAttributes): the authenticated user (the event's user, not the
// impersonated one), the verb, and the RequestInfo the objectRef was made from.
func attributesOf(event *auditv1.Event) authorizer.Attributes {
	attrs := &authorizer.AttributesRecord{
		User:            userInfo(event.User),
		Verb:            event.Verb,
		ResourceRequest: event.ObjectRef != nil,
		Path:            pathOf(event.RequestURI),
	}
	if ref := event.ObjectRef; ref != nil {
		attrs.Namespace = ref.Namespace
		attrs.APIGroup = ref.APIGroup
		attrs.APIVersion = ref.APIVersion
		attrs.Resource = ref.Resource
		attrs.Subresource = ref.Subresource
		attrs.Name = ref.Name
	}
	return attrs
}

func userInfo(u authnv1.UserInfo) user.Info {
	extra := map[string][]string{}
	for k, v := range u.Extra {
		extra[k] = []string(v)
	}
	return &user.DefaultInfo{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra}
}

// pathOf is requestURI without its query, decoded as net/http decodes req.URL.Path (the
// RequestInfo's Path).
func pathOf(requestURI string) string {
	if parsed, err := url.ParseRequestURI(requestURI); err == nil {
		return parsed.Path
	}
	return strings.SplitN(requestURI, "?", 2)[0]
}
