// Command eso-template-go times ESO's own template engine (pkg/template/v2: Go text/template
// with missingkey=error, sprig and ESO's functions) on the cases of a templates.json corpus,
// the way the Rust criterion bench times eso-core's engine, and prints one JSON object per
// case: parse+execute and execute-only, in ns/op and allocations/op.
//
// ESO's engine comes from the module github.com/external-secrets/external-secrets at v0.16.2,
// the newest release whose engine the module proxy serves as an importable package: from
// v1 on ESO keeps it in the nested module .../external-secrets/runtime (template/v2), which
// is not published on its own, so v1.3.2 builds but has no engine to import. The engine's
// work per template is the same in both: template.New(key).Option("missingkey=error")
// .Funcs(sprig + ESO's functions).Parse(text), then Execute over a map[string]string.
//
// usage: eso-template-go [-test.benchtime=2s] path/to/templates.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"testing"
	"text/template"

	esotpl "github.com/external-secrets/external-secrets/pkg/template/v2"
)

type benchCase struct {
	Name      string            `json:"name"`
	Templates map[string]string `json:"templates"`
	Data      map[string]string `json:"data"`
	Expected  map[string]string `json:"expected"`
}

type corpus struct {
	Cases []benchCase `json:"cases"`
}

type result struct {
	Name           string  `json:"name"`
	ParseExecNs    float64 `json:"parse_execute_ns"`
	ParseExecAlloc int64   `json:"parse_execute_allocs"`
	ParseExecBytes int64   `json:"parse_execute_bytes"`
	ExecNs         float64 `json:"execute_ns"`
	ExecAlloc      int64   `json:"execute_allocs"`
	ExecBytes      int64   `json:"execute_bytes"`
}

// parse builds a template exactly as ESO's engine does for one key.
func parse(key, src string) (*template.Template, error) {
	return template.New(key).Option("missingkey=error").Funcs(esotpl.FuncMap()).Delims("{{", "}}").Parse(src)
}

func keys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func check(c benchCase) error {
	for _, k := range keys(c.Templates) {
		t, err := parse(k, c.Templates[k])
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, c.Data); err != nil {
			return err
		}
		if buf.String() != c.Expected[k] {
			return fmt.Errorf("case %s key %s: output differs from expected", c.Name, k)
		}
	}
	return nil
}

func run(c benchCase) (result, error) {
	ks := keys(c.Templates)
	var failure error
	parseExec := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for i := 0; i < b.N; i++ {
			for _, k := range ks {
				t, err := parse(k, c.Templates[k])
				if err != nil {
					failure = err
					return
				}
				buf.Reset()
				if err := t.Execute(&buf, c.Data); err != nil {
					failure = err
					return
				}
			}
		}
	})
	parsed := make([]*template.Template, 0, len(ks))
	for _, k := range ks {
		t, err := parse(k, c.Templates[k])
		if err != nil {
			return result{}, err
		}
		parsed = append(parsed, t)
	}
	exec := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for i := 0; i < b.N; i++ {
			for _, t := range parsed {
				buf.Reset()
				if err := t.Execute(&buf, c.Data); err != nil {
					failure = err
					return
				}
			}
		}
	})
	if failure != nil {
		return result{}, failure
	}
	return result{
		Name:           c.Name,
		ParseExecNs:    float64(parseExec.T.Nanoseconds()) / float64(parseExec.N),
		ParseExecAlloc: parseExec.AllocsPerOp(),
		ParseExecBytes: parseExec.AllocedBytesPerOp(),
		ExecNs:         float64(exec.T.Nanoseconds()) / float64(exec.N),
		ExecAlloc:      exec.AllocsPerOp(),
		ExecBytes:      exec.AllocedBytesPerOp(),
	}, nil
}

func main() {
	testing.Init()
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: eso-template-go [-test.benchtime=1s] templates.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cs corpus
	if err := json.Unmarshal(raw, &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, c := range cs.Cases {
		if err := check(c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r, err := run(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
