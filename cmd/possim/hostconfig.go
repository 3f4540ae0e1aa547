package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/possim/possim/host"
	"github.com/possim/possim/internal/fault"
	"github.com/possim/possim/internal/yamlnode"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// hostConfigKeys maps the keys of a host config file to the flags they
// stand for: the file is a set of defaults, and a flag given on the command
// line wins.
var hostConfigKeys = map[string]string{
	"listen": "listen", "dialect": "dialect", "length_header": "length-header", "tpdu": "tpdu",
	"header": "header", "match": "match", "max_conns": "max-conns", "idle_timeout": "idle-timeout",
	"first_frame_timeout": "first-frame-timeout", "frame_timeout": "frame-timeout", "link_queue": "link-queue",
	"tmk_file": "tmk-file", "control_token_file": "control-token-file",
	"seed": "seed", "control": "control", "control_token": "control-token",
	"tmk": "tmk", "mac_alg": "mac-alg", "mac_padding": "mac-padding", "mac_rc": "mac-rc", "mac_network": "mac-network",
	"spec": "spec", "dialect_file": "dialect-file",
	"tls": "tls", "tls_dir": "tls-dir", "tls_cert": "tls-cert", "tls_key": "tls-key", "tls_ca": "tls-ca", "tls_ca_key": "tls-ca-key",
	"tls_client_auth": "tls-client-auth", "tls_min_version": "tls-min-version", "tls_fault": "tls-fault",
}

// pathKeys are the config keys that name files.
var pathKeys = map[string]bool{"spec": true, "dialect_file": true, "tls_dir": true, "tls_cert": true, "tls_key": true, "tls_ca": true, "tls_ca_key": true}

// hostConfig is what a --config file adds beyond flag values.
type hostConfig struct {
	rules  *host.RuleSet // nil: not in the file
	faults []fault.Rule
}

// loadHostConfig reads a host config file strictly (unknown key, a key
// given twice, a value of the wrong shape: an error naming file:line) and
// sets the flags it names that the command line did not set.
//
//	listen: 127.0.0.1:8583
//	dialect: iso87bin
//	idle_timeout: 5m
//	rules: {rules: [...], default: {rc: "00"}}   # as a --rules file
//	faults: [{type: delay, mti: "0210", delay: 3s, p: 0.1}]
//	tmk: 0123456789ABCDEFFEDCBA9876543210
func loadHostConfig(path string, fs *pflag.FlagSet) (*hostConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty config file", path)
		}
		return nil, yamlnode.FileError(path, err)
	}
	known := []string{"rules", "faults"}
	for k := range hostConfigKeys {
		known = append(known, k)
	}
	sort.Strings(known)
	top, err := yamlnode.Mapping(path, &doc, "config", known...)
	if err != nil {
		return nil, err
	}
	cfg := &hostConfig{}
	for _, k := range top.Order {
		kv := top.Keys[k]
		switch k {
		case "rules":
			if cfg.rules, err = host.DecodeRules(path, yamlnode.Resolve(kv.Val)); err != nil {
				return nil, err
			}
			continue
		case "faults":
			if cfg.faults, err = fault.DecodeYAML(path, yamlnode.Resolve(kv.Val)); err != nil {
				return nil, err
			}
			continue
		}
		val, err := yamlnode.Scalar(path, kv, "")
		if err != nil {
			return nil, err
		}
		flag := hostConfigKeys[k]
		if fs.Changed(flag) {
			continue // the command line wins
		}
		if pathKeys[k] && val != "" && !filepath.IsAbs(val) {
			val = filepath.Join(filepath.Dir(path), val) // relative to the config file, not the working directory
		}
		if err := fs.Set(flag, val); err != nil {
			return nil, yamlnode.Errorf(path, kv.Key, "%s: %v", k, err)
		}
	}
	return cfg, nil
}
