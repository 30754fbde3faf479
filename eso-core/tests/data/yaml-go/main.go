package main

import (
	"encoding/json"
	"fmt"
	"os"

	yamlv2 "gopkg.in/yaml.v2"
	"sigs.k8s.io/yaml"
)

type vector struct {
	Name  string  `json:"name"`
	Input string  `json:"input"`
	JSON  *string `json:"json"`
	// Error: the unmarshal failed (the JSON then holds the error text under "Error").
	Error bool `json:"error"`
}

func main() {
	var inputs []struct{ Name, Input string }
	raw, _ := os.ReadFile(os.Args[1])
	if err := json.Unmarshal(raw, &inputs); err != nil {
		panic(err)
	}
	var out []vector
	for _, in := range inputs {
		v := vector{Name: in.Name, Input: in.Input}
		// ESO's fromYaml: sigs.k8s.io/yaml.Unmarshal into map[string]interface{}, the error
		// text under "Error"; then sprig's toJson (json.Marshal, "" on failure).
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(in.Input), &m); err != nil {
			v.Error = true
			m["Error"] = err.Error()
		}
		b, err := json.Marshal(m)
		s := string(b)
		if err != nil {
			s = ""
		}
		v.JSON = &s
		var check interface{}
		_ = yamlv2.Unmarshal([]byte(in.Input), &check)
		out = append(out, v)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
